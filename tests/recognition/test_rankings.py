"""Rankings by verified service: reversals, ties, year boundaries in Asia/Shanghai, scopes,
star levels and the year-end snapshot job."""
from __future__ import annotations

import datetime as dt

from recognition_helpers import local, member_of

from timebank.jobs import runner, table
from timebank.core import clock
from timebank.recognition import operations, queries, rules, tasks


def _order(scope, year):
    return [(r.name, r.rank, r.minutes, r.sessions) for r in queries.ranking(scope, year).rows]


def test_reversals_are_respected(db, tree, make_user, serve, reverse):
    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C1, name="乙")
    serve(a, 120, local(2026, 3, 1, 10))
    wrong = serve(a, 100, local(2026, 3, 2, 10))
    serve(b, 150, local(2026, 3, 3, 10))
    assert _order(tree.C1, 2026) == [("甲", 1, 220, 2), ("乙", 2, 150, 1)]
    reverse(wrong, local(2026, 3, 4, 10))
    assert _order(tree.C1, 2026) == [("乙", 1, 150, 1), ("甲", 2, 120, 1)]


def test_a_member_whose_service_was_all_reversed_is_not_ranked(db, tree, make_user, serve,
                                                                reverse):
    a = make_user("member", tree.C1, name="甲")
    reverse(serve(a, 60, local(2026, 3, 1, 10)), local(2026, 3, 1, 11))
    assert _order(tree.C1, 2026) == []


def test_only_verified_service_counts(db, tree, make_user, serve):
    """Relays and redemptions lower the balance, never the service hours that rank."""
    from timebank.ledger import operations as ledger

    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C1, name="乙")
    serve(a, 300, local(2026, 3, 1, 10))
    serve(b, 200, local(2026, 3, 1, 10))
    with clock.freeze(local(2026, 3, 2, 10)):
        ledger.relay(a, member_of(db, a), 250, to_member=member_of(db, b), reason="爱心接力")
    db.session.commit()
    assert _order(tree.C1, 2026) == [("甲", 1, 300, 1), ("乙", 2, 200, 1)]


def test_ties_sessions_then_who_reached_the_total_first(db, tree, make_user, serve):
    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C1, name="乙")
    c = make_user("member", tree.C1, name="丙")
    d = make_user("member", tree.C1, name="丁")
    e = make_user("member", tree.C1, name="戊")
    # A deposit not from a service record (e.g. a manual or demo deposit) is not service.
    serve(e, 120, local(2026, 4, 1, 10), source="manual")
    # 甲: 120 minutes in two sessions. 乙, 丙, 丁: 120 in one; 丙 got there first, then 乙,
    # then 丁 (written after 乙 in the same second).
    serve(a, 60, local(2026, 5, 1, 10))
    serve(c, 120, local(2026, 5, 2, 10))
    serve(b, 120, local(2026, 5, 3, 10))
    serve(d, 120, local(2026, 5, 3, 10))
    serve(a, 60, local(2026, 5, 9, 10))
    rows = queries.ranking(tree.C1, 2026).rows
    assert [(r.name, r.rank, r.sessions) for r in rows] == [
        ("甲", 1, 2), ("丙", 2, 1), ("乙", 3, 1), ("丁", 4, 1)]
    assert rows[1].reached_at == local(2026, 5, 2, 10)
    assert rows[0].reached_at == local(2026, 5, 9, 10)


def test_reached_first_uses_the_last_change_of_the_total(db, tree, make_user, serve, reverse):
    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C1, name="乙")
    serve(a, 60, local(2026, 5, 1, 10))
    extra = serve(a, 30, local(2026, 5, 2, 10))
    serve(b, 60, local(2026, 5, 5, 10))
    # 甲's total only became 60 (its final total) when the extra 30 were reversed on 5-10.
    reverse(extra, local(2026, 5, 10, 10))
    assert [(r.name, r.minutes) for r in queries.ranking(tree.C1, 2026).rows] == [
        ("乙", 60), ("甲", 60)]


def test_year_boundaries_are_in_shanghai(db, tree, make_user, serve, reverse):
    a = make_user("member", tree.C1, name="甲")
    # 23:30 on 31 December in Shanghai is 15:30 UTC: still 2025.
    early = serve(a, 60, local(2025, 12, 31, 23, 30))
    # 00:10 on 1 January in Shanghai is 16:10 UTC on 31 December: already 2026.
    late = serve(a, 45, local(2026, 1, 1, 0, 10))
    assert late.created_at.year == 2025  # in UTC
    assert _order(tree.C1, 2025) == [("甲", 1, 60, 1)]
    assert _order(tree.C1, 2026) == [("甲", 1, 45, 1)]
    # Service counts on the day served: reversing last year's service in 2026 takes it out of
    # 2025 (where it was served) and leaves 2026 as it was.
    serve(a, 30, local(2026, 2, 1, 10))
    reverse(early, local(2026, 2, 2, 10))
    assert _order(tree.C1, 2025) == []
    assert _order(tree.C1, 2026) == [("甲", 1, 75, 2)]


def test_historical_hours_rank_only_when_the_setting_says_so(db, tree, make_user, serve):
    from timebank import measures
    from timebank.core import settings
    from timebank.ledger import history

    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C1, name="乙")
    serve(a, 60, local(2026, 3, 1, 10))
    serve(b, 90, local(2026, 3, 1, 10))
    serve(b, 500, local(2026, 3, 2, 10), source="demo")  # a demo deposit is never service
    with clock.freeze(local(2026, 3, 5, 10)):
        history.import_history(tree.district_admin,
                               history.parse_csv(f"phone,minutes,note\n{a.phone},600,纸质台账\n"))
        db.session.commit()
    assert _order(tree.C1, 2026) == [("乙", 1, 90, 1), ("甲", 2, 60, 1)]
    m = member_of(db, a)
    assert queries.member_star(m).total_minutes == 60
    with clock.freeze(local(2026, 3, 6, 10)):
        settings.put(tree.district_admin, rules.RANK_HISTORICAL, True)
        db.session.commit()
    assert _order(tree.C1, 2026) == [("甲", 1, 660, 1), ("乙", 2, 90, 1)]
    assert queries.member_star(m).total_minutes == 660
    # every row agrees with the measures
    period = measures.Period.year(2026)
    for r in queries.ranking(tree.C1, 2026).rows:
        assert r.minutes == (measures.verified_service_minutes(period=period, member=r.member_id)
                             + measures.historical_minutes(period=period, member=r.member_id))


def test_scopes(db, tree, make_user, serve):
    a = make_user("member", tree.C1, name="甲", unit=tree.U1)
    b = make_user("member", tree.C2, name="乙", unit=tree.U2)
    c = make_user("member", tree.C3, name="丙", unit=tree.U1)
    serve(a, 60, local(2026, 3, 1, 10))
    serve(b, 90, local(2026, 3, 1, 10))
    serve(c, 120, local(2026, 3, 1, 10))
    assert [r.name for r in queries.ranking(tree.C1, 2026).rows] == ["甲"]
    assert [r.name for r in queries.ranking(tree.S1, 2026).rows] == ["乙", "甲"]
    assert [r.name for r in queries.ranking(tree.D, 2026).rows] == ["丙", "乙", "甲"]
    assert [r.name for r in queries.ranking(tree.U1, 2026).rows] == ["丙", "甲"]
    page = queries.ranking(tree.D, 2026, limit=1, offset=1)
    assert page.total == 3 and [(r.name, r.rank) for r in page.rows] == [("乙", 2)]
    [row] = queries.ranking(tree.D, 2026, member_ids=[member_of(db, a).id]).rows
    assert (row.rank, row.community_name, row.unit_name) == (3, "甲社区", "区人民医院")
    assert queries.count(tree.D, 2026) == 3 and queries.count(tree.C2, 2026) == 1


def test_star_levels_and_thresholds_changed_mid_year(db, tree, make_user, serve):
    a = make_user("member", tree.C1, name="甲")
    serve(a, 350 * 60, local(2026, 3, 1, 10))
    assert queries.member_star(member_of(db, a)).level == 2  # 100 and 300 reached
    assert queries.ranking(tree.C1, 2026).rows[0].star_level == 2
    with clock.freeze(local(2026, 6, 30, 10)):
        snap, created = operations.take_snapshot(None, 2026, tree.D)
        db.session.commit()
    assert created

    with clock.freeze(local(2026, 7, 1, 9)):
        operations.set_star_thresholds(tree.district_admin, [50, 400, 800])
        db.session.commit()
    # From now on levels follow the new thresholds, for hours served before and after...
    star = queries.member_star(member_of(db, a))
    assert (star.level, star.next_hours) == (1, 400)
    serve(a, 60 * 60, local(2026, 8, 1, 10))
    assert queries.member_star(member_of(db, a)).level == 2
    assert queries.ranking(tree.C1, 2026).rows[0].star_level == 2
    # ...while what was recorded under the old thresholds keeps its level.
    from timebank.recognition.models import RankingSnapshotEntry

    entry = db.session.query(RankingSnapshotEntry).filter_by(snapshot_id=snap.id).one()
    assert entry.star_level == 2 and entry.service_minutes == 350 * 60
    assert snap.star_thresholds == "[100,300,600,1000,1500]"


def test_star_threshold_validation(db, tree):
    import pytest

    from timebank.core.errors import Forbidden, Invalid

    for bad in ([], [100, 100], [0, 10], [300, 100], ["x"], list(range(1, 12))):
        with pytest.raises(Invalid):
            operations.set_star_thresholds(tree.district_admin, bad)
    with pytest.raises(Forbidden):
        operations.set_star_thresholds(tree.street_admin, [1, 2])
    assert rules.star_thresholds() == [100, 300, 600, 1000, 1500]


def test_year_end_snapshot_job_is_idempotent(db, tree, make_user, serve):
    from timebank.recognition.models import RankingSnapshot, RankingSnapshotEntry

    a = make_user("member", tree.C1, name="甲")
    b = make_user("member", tree.C3, name="丙")
    serve(a, 60, local(2026, 3, 1, 10))
    serve(b, 90, local(2026, 12, 31, 23))
    job = table.get_job("recognition.year_end")
    period = table.latest_fire_time(job, local(2027, 1, 1, 2).astimezone(clock.UTC))
    assert clock.to_local(period) == local(2027, 1, 1, 1)
    with clock.freeze(local(2027, 1, 1, 1, 0, 5)):
        out = runner.execute(job, period)
    assert out.outcome == "ok" and "2026" in out.summary and "2 members" in out.summary
    # Service after the snapshot does not change it; neither does running the body again.
    serve(a, 600, local(2026, 12, 31, 12))  # late, but now in the year
    with clock.freeze(local(2027, 1, 2, 9)):
        assert runner.execute(job, period).outcome == "duplicate"
        again = tasks.year_end_snapshot(period)
        db.session.commit()
    assert "already taken" in again
    [snap] = db.session.query(RankingSnapshot).all()
    entries = db.session.query(RankingSnapshotEntry).order_by(RankingSnapshotEntry.rank).all()
    assert (snap.year, snap.entries_count) == (2026, 2)
    assert [(e.rank, e.service_minutes) for e in entries] == [(1, 90), (2, 60)]


def test_kept_totals_equal_the_ledger(db, tree, make_user, serve, reverse):
    """The trigger-kept yearly totals agree with an aggregate over the ledger itself, across
    deposits, reversals, relays, year boundaries and several members."""
    import random

    from timebank.ledger import operations as ledger

    rng = random.Random(7)
    users = [make_user("member", c, name=f"员{i}") for i, c in
             enumerate([tree.C1, tree.C2, tree.C3] * 3)]
    deposits = []
    at = local(2025, 12, 30, 8)
    for step in range(60):
        at = at + dt.timedelta(hours=rng.randrange(1, 30))
        roll = rng.random()
        if roll < 0.7 or not deposits:
            u = rng.choice(users)
            deposits.append(serve(u, rng.choice((30, 60, 90)), at,
                                  source=rng.choice(("service_record", "manual"))))
        elif roll < 0.85:
            tx = deposits.pop(rng.randrange(len(deposits)))
            reverse(tx, at)
        else:
            giver, taker = rng.sample(users, 2)
            with clock.freeze(at):
                try:
                    ledger.relay(giver, member_of(db, giver), 30, to_member=member_of(db, taker),
                                 reason="接力")
                    db.session.commit()
                except Exception:  # noqa: BLE001 (not enough balance: fine, nothing written)
                    db.session.rollback()
    for year in (2025, 2026):
        assert queries.totals_from_ledger(year), year
        assert queries.totals_mismatches(year) == []


def test_the_totals_trigger_exists(db):
    import sqlalchemy as sa

    if db.engine.dialect.name == "postgresql":
        sql = ("SELECT count(*) FROM pg_trigger WHERE tgname = "
               "'ledger_transactions_recognition_totals'")
    else:
        sql = ("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = "
               "'ledger_transactions_recognition_totals'")
    assert db.session.execute(sa.text(sql)).scalar() == 1


def test_snapshot_refuses_totals_that_disagree_with_the_ledger(db, tree, make_user, serve):
    import sqlalchemy as sa

    a = make_user("member", tree.C1, name="甲")
    serve(a, 60, local(2026, 3, 1, 10))
    db.session.execute(sa.text("UPDATE recognition_service_totals SET minutes = 6000"))
    db.session.commit()
    job = table.get_job("recognition.year_end")
    out = runner.execute(job, local(2027, 1, 1, 1).astimezone(clock.UTC))
    assert out.outcome == "failed" and "differ from the ledger" in out.summary
    from timebank.recognition.models import RankingSnapshot

    assert db.session.query(RankingSnapshot).count() == 0


def test_cli(app, db, tree, make_user, serve):
    import sqlalchemy as sa

    a = make_user("member", tree.C1, name="甲")
    serve(a, 90, local(2026, 3, 1, 10))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recognition", "ranking", "--year", "2026", "--scope", "C1"])
    assert result.exit_code == 0 and "甲" in result.output and "1.5 h" in result.output
    result = runner.invoke(args=["recognition", "verify-totals", "--year", "2026"])
    assert result.exit_code == 0 and "agree" in result.output
    result = runner.invoke(args=["recognition", "snapshot", "--year", "2026"])
    assert result.exit_code == 0 and "1 members" in result.output
    result = runner.invoke(args=["recognition", "snapshot", "--year", "2026"])
    assert "taken before" in result.output
    db.session.execute(sa.text("DELETE FROM recognition_service_totals"))
    db.session.commit()
    result = runner.invoke(args=["recognition", "verify-totals", "--year", "2026"])
    assert result.exit_code == 1 and "1 members differ" in result.output
