"""Totals add up (issue 13): for random members across communities and units, verified service in
random months and categories, reversals, redemptions, demo deposits and historical imports, every
breakdown of a measure sums to its total, the dashboard shows exactly the measures, and each
member's ranking row, statement figure and activity card agree with the measure and with a model
of what was written."""
from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timebank.core import clock

SH = clock.LOCAL_TZ
YEAR = 2025
_districts = itertools.count(1)
_sources = itertools.count(1_000_000)

member_st = st.tuples(st.integers(0, 2),                 # community
                      st.sampled_from([0, 1, None]))     # unit (None: no unit)
service_st = st.tuples(st.integers(0, 5),                # member index (mod the members)
                       st.integers(1, 12),               # month served
                       st.integers(1, 28),               # day
                       st.sampled_from([0, 1, None]),    # category (None: no post kind)
                       st.integers(1, 300),              # minutes
                       st.booleans(),                    # reversed later
                       st.booleans())                    # verified (False: still pending)
history = st.fixed_dictionaries({
    "members": st.lists(member_st, min_size=1, max_size=6),
    "services": st.lists(service_st, max_size=14),
    "redemptions": st.lists(st.tuples(st.integers(0, 5), st.integers(1, 200)), max_size=4),
    "demo": st.lists(st.tuples(st.integers(0, 5), st.integers(1, 500)), max_size=2),
    "historical": st.lists(st.tuples(st.integers(0, 5), st.integers(1, 900)), max_size=2),
})


def _local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def _kinds(db):
    """Two post kinds in two categories, made once per test (the catalogue is global)."""
    from timebank.catalogue.models import PostCategory, PostKind

    kinds = []
    for pos, code in enumerate(("t-convenience", "t-caring")):
        cat = db.session.query(PostCategory).filter_by(code=code).one_or_none()
        if cat is None:
            cat = PostCategory(code=code, name=f"类{pos}", name_en=code, position=pos)
            db.session.add(cat)
            db.session.flush()
            db.session.add(PostKind(category_id=cat.id, code=f"{code}-1", name=f"类{pos}一",
                                    name_en="", position=0))
            db.session.flush()
        kinds.append(db.session.query(PostKind).filter_by(category_id=cat.id).one())
    return kinds


def _build(db, make_user, data):
    """A new district with three communities in two streets and two units, and the history."""
    from timebank.ledger import history as ledger_history
    from timebank.ledger import operations as ledger
    from timebank.core.errors import DomainError as LedgerError
    from timebank.members.models import Member
    from timebank.orgs import operations as orgs
    from timebank.orgs.models import OrgKind
    from timebank.posts.models import ServiceRecord

    n = next(_districts)
    kinds = _kinds(db)
    with clock.freeze(_local(YEAR - 1, 12, 1, 9)):
        d = orgs.create_node(None, None, OrgKind.DISTRICT, f"区{n}", code=f"PD{n}")
        s1 = orgs.create_node(None, d, OrgKind.STREET, f"街{n}a", code=f"PD{n}S1")
        s2 = orgs.create_node(None, d, OrgKind.STREET, f"街{n}b", code=f"PD{n}S2")
        communities = [orgs.create_node(None, s1, OrgKind.COMMUNITY, f"社{n}a", code=f"PD{n}C1"),
                       orgs.create_node(None, s1, OrgKind.COMMUNITY, f"社{n}b", code=f"PD{n}C2"),
                       orgs.create_node(None, s2, OrgKind.COMMUNITY, f"社{n}c", code=f"PD{n}C3")]
        units = [orgs.create_node(None, d, OrgKind.UNIT, f"单位{n}a", code=f"PD{n}U1"),
                 orgs.create_node(None, d, OrgKind.UNIT, f"单位{n}b", code=f"PD{n}U2")]
        db.session.commit()
        users = [make_user("member", communities[c], name=f"员{n}-{i}",
                           unit=units[u] if u is not None else None)
                 for i, (c, u) in enumerate(data["members"])]
    members = [db.session.query(Member).filter_by(user_id=u.id).one() for u in users]
    admin = make_user("district_admin", d, name=f"管理员{n}")

    expected = {"minutes": {m.id: 0 for m in members}, "sessions": {m.id: 0 for m in members},
                "months": {}, "categories": {}, "historical": {m.id: 0 for m in members}}
    to_reverse = []
    for (i, month, day, cat, minutes, reverse, verify) in data["services"]:
        member = members[i % len(members)]
        served_at = _local(YEAR, month, day, 10)
        kind = kinds[cat] if cat is not None else None
        record = ServiceRecord(
            member_id=member.id, community_id=member.community_id, source="reported",
            kind_id=kind.id if kind else None, description="服务", started_at=served_at,
            ended_at=served_at + dt.timedelta(minutes=minutes), minutes=minutes,
            status="verified" if verify else "pending", flags=[], created_at=served_at)
        db.session.add(record)
        db.session.flush()
        if not verify:
            continue
        # verified some days later, possibly in the next month or year
        with clock.freeze(served_at + dt.timedelta(days=day % 9)):
            tx = ledger.deposit(None, member, minutes, source_type="service_record",
                                source_id=record.id, reason="服务")
        record.transaction_id = tx.id
        if reverse:
            to_reverse.append((record, tx, member, month, cat, minutes))
            continue
        expected["minutes"][member.id] += minutes
        expected["sessions"][member.id] += 1
        expected["months"][month] = expected["months"].get(month, 0) + minutes
        key = kind.category_id if kind else 0
        expected["categories"][key] = expected["categories"].get(key, 0) + minutes
    db.session.commit()
    with clock.freeze(_local(YEAR + 1, 1, 20, 9)):
        for i, minutes in data["redemptions"]:
            member = members[i % len(members)]
            try:
                with db.session.begin_nested():
                    ledger.redeem(None, member, minutes, reason="服务回馈")
            except LedgerError:
                pass  # not enough balance: nothing written
        for record, tx, member, month, cat, minutes in to_reverse:
            try:
                with db.session.begin_nested():
                    ledger.reverse(None, tx, "录入错误")
                    record.status = "revoked"
            except LedgerError:  # the hours were spent: the service stands
                expected["minutes"][member.id] += minutes
                expected["sessions"][member.id] += 1
                expected["months"][month] = expected["months"].get(month, 0) + minutes
                key = kinds[cat].category_id if cat is not None else 0
                expected["categories"][key] = expected["categories"].get(key, 0) + minutes
        for i, minutes in data["demo"]:
            ledger.deposit(None, members[i % len(members)], minutes, source_type="demo",
                           source_id=next(_sources), reason="演示")
        db.session.commit()
    with clock.freeze(_local(YEAR, 6, 1, 9)):
        for i, minutes in data["historical"]:
            member = members[i % len(members)]
            rows = ledger_history.parse_csv(
                f"phone,minutes,note\n{member.user.phone},{minutes},纸质台账\n")
            ledger_history.import_history(admin, rows)
            expected["historical"][member.id] += minutes
        db.session.commit()
    return d, [s1, s2], communities, units, members, expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=history)
def test_every_breakdown_adds_up_to_the_total(db, make_user, data):
    from timebank import measures
    from timebank.posts import queries as posts_queries
    from timebank.recognition import queries as recognition
    from timebank.reports import dashboard

    d, streets, communities, units, members, expected = _build(db, make_user, data)
    year = measures.Period.year(YEAR)
    for fn in (measures.verified_service_minutes, measures.service_sessions,
               measures.historical_minutes, measures.active_members,
               measures.registered_members, measures.reported_members):
        total = fn(d, year)
        assert total == sum(measures.by_community(fn, communities, year).values()), fn
        assert total == sum(fn(s, year) for s in streets), fn
        assert total == sum(measures.by_unit(fn, d, year).values()), fn
        assert total == sum(fn(u, year) for u in units) + measures.by_unit(fn, d, year).get(
            measures.NO_UNIT, 0), fn
        if fn in (measures.verified_service_minutes, measures.service_sessions,
                  measures.historical_minutes):  # additive over time (members are not)
            assert total == sum(measures.by_month(fn, d, YEAR).values()), fn
    minutes = measures.verified_service_minutes(d, year)
    assert minutes == sum(expected["minutes"].values())
    assert minutes == sum(measures.by_category(measures.verified_service_minutes, d,
                                               year).values())
    assert measures.by_category(measures.verified_service_minutes, d, year) == {
        k: v for k, v in expected["categories"].items() if v}
    assert {m: v for m, v in measures.by_month(measures.verified_service_minutes, d,
                                               YEAR).items() if v} == {
        k: v for k, v in expected["months"].items() if v}
    assert measures.service_sessions(d, year) == sum(expected["sessions"].values())
    assert measures.active_members(d, year) == sum(1 for v in expected["sessions"].values() if v)
    assert measures.historical_minutes(d) == sum(expected["historical"].values())
    # verified in the next January still counts in the year served
    assert measures.verified_service_minutes(d, measures.Period.year(YEAR + 1)) == 0

    board = dashboard.build(d, YEAR)
    assert board.figures["verified_service_minutes"] == minutes
    assert board.total("minutes") == minutes
    assert sum(u.minutes for u in board.units) == minutes
    assert board.month_total("minutes") == minutes
    assert sum(board.minutes_by_category.values()) == minutes
    assert board.total("historical") == measures.historical_minutes(d, year)
    assert board.total("active") == measures.active_members(d, year)

    ranking = recognition.ranking(d, YEAR)
    ranked = {r.member_id: r for r in ranking.rows}
    assert set(ranked) == {m for m, v in expected["minutes"].items() if v}
    assert ranking.total == len(ranked)
    assert [r.rank for r in ranking.rows] == list(range(1, len(ranked) + 1))
    for m in members:
        mine = measures.verified_service_minutes(period=year, member=m)
        assert mine == expected["minutes"][m.id]
        if mine:
            assert ranked[m.id].minutes == mine
            assert ranked[m.id].sessions == expected["sessions"][m.id]
        card = posts_queries.card(m, YEAR)
        assert card.verified_minutes == mine
        assert card.service_minutes == measures.verified_service_minutes(member=m)
        assert card.historical_minutes == expected["historical"][m.id]
        assert recognition.member_star(m).total_minutes == mine
