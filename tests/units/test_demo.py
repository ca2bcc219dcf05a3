"""The units demo step on the demo district: rosters with people not registered, two agreements
per street, fulfilment shown as progress."""
from __future__ import annotations

from sqlalchemy import func, select

from timebank import demo, measures
from timebank.units import queries
from timebank.units.models import Agreement, AgreementStatus, RosterEntry


def test_demo_step(app, db, client, monkeypatch):
    if "units" not in demo.FEATURE_STEPS:
        monkeypatch.setattr(demo, "FEATURE_STEPS", (*demo.FEATURE_STEPS, "units"))
    demo.seed()
    db.session.commit()
    n_units = len(demo.UNITS)
    units_with_roster = db.session.execute(
        select(func.count(func.distinct(RosterEntry.unit_id)))).scalar_one()
    assert units_with_roster == n_units
    unregistered = db.session.execute(select(func.count()).select_from(RosterEntry).where(
        RosterEntry.member_id.is_(None))).scalar_one()
    assert unregistered >= 2 * n_units
    rate = measures.roster_report_rate(None)
    assert 0 < rate < 1
    agreements = list(db.session.execute(select(Agreement)).scalars())
    assert len(agreements) == 2 * len(demo.STREETS)
    active = [a for a in agreements if a.status == AgreementStatus.ACTIVE]
    assert len(active) == len(agreements) - 1
    assert all(0 < queries.progress(a).percent <= 100 for a in active)
    # The demo logins see their pages filled.
    client.login("13800000004", demo.DEMO_PASSWORD)
    page = client.get("/units/roster?state=unregistered").get_data(as_text=True)
    assert "在册未注册" in page
    client.login("13800000002", demo.DEMO_PASSWORD)
    page = client.get("/units/agreements").get_data(as_text=True)
    assert "待签署" in page and "已生效" in page
