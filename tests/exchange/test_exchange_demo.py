"""The exchange's demo step, run inside the whole demo (as the lead will list it in
``FEATURE_STEPS``): an exchange per street, past requests that paid through the ledger, and
a ledger that still verifies. Slow (it seeds the district), so SQLite only and marked slow."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from timebank import create_app, demo
from timebank.config import TestConfig

pytestmark = pytest.mark.slow


def test_demo_exchange(database, tmp_path, monkeypatch):
    if database.kind == "postgresql":
        pytest.skip("seeded once on SQLite; the operations are tested on both")
    path = tmp_path / "demo.sqlite3"
    shutil.copyfile(database.template, path)
    app = create_app(TestConfig(f"sqlite:///{path}", str(database.instance)))
    app.config["TIMEBANK_LEDGER_CHECKPOINT_FILE"] = str(tmp_path / "checkpoints.jsonl")
    if "exchange" not in demo.FEATURE_STEPS:
        monkeypatch.setattr(demo, "FEATURE_STEPS", demo.FEATURE_STEPS + ("exchange",))
    from timebank.exchange.models import ExchangeItem, ExchangeRequest, RequestStatus
    from timebank.extensions import db
    from timebank.ledger import verification
    from timebank.ledger.models import Transaction, TxKind
    from timebank.orgs.models import OrgKind, OrgNode

    with app.app_context():
        demo.seed()
        db.session.commit()
        streets = db.session.execute(select(OrgNode).where(
            OrgNode.kind == OrgKind.STREET.value)).scalars().all()
        for street in streets:
            items = db.session.execute(select(ExchangeItem).where(
                ExchangeItem.org_id == street.id)).scalars().all()
            assert {i.kind for i in items} == {"goods", "service"}
        assert all(i.stock is None or i.stock >= 0
                   for i in db.session.execute(select(ExchangeItem)).scalars())
        by_status = dict(db.session.execute(
            select(ExchangeRequest.status, func.count()).group_by(ExchangeRequest.status)).all())
        assert by_status.get(RequestStatus.FULFILLED, 0) >= 10, by_status
        assert by_status.get(RequestStatus.REQUESTED, 0) >= 1, by_status
        for req in db.session.execute(select(ExchangeRequest).where(
                ExchangeRequest.status == RequestStatus.FULFILLED.value)).scalars():
            tx = db.session.get(Transaction, req.transaction_id)
            assert tx.kind == TxKind.REDEMPTION
            assert tx.created_at == req.decided_at  # written with the clock frozen then
        # Goods: stock left + units held or handed over = what was put on the shelf.
        for item in db.session.execute(select(ExchangeItem).where(
                ExchangeItem.stock.is_not(None))).scalars():
            held = db.session.execute(select(func.count()).select_from(ExchangeRequest).where(
                ExchangeRequest.item_id == item.id, ExchangeRequest.status.in_(
                    ["requested", "fulfilled"]))).scalar_one()
            assert item.stock + held in (8, 10, 12)
        assert verification.verify() == []
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
