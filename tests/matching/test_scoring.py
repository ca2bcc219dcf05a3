"""The pure cost and reasons of matcher candidates (no database)."""
import datetime as dt

from timebank.matching import scoring
from timebank.matching.scoring import (DemandFacts, MemberFacts, ResourceFacts, SessionFacts,
                                       Weights)

W = Weights()
SAT_MORNING = scoring.slot_bit(5, "morning")


def member(**kw):
    base = dict(id=1, community_id=10, street_id=100, grid_id=1000, skill_ids=frozenset({1}),
                willing_kind_ids=frozenset({7}), willing_category_ids=frozenset(),
                availability=SAT_MORNING, capacity=2)
    return MemberFacts(**{**base, **kw})


def session(**kw):
    base = dict(id=5, post_id=50, community_id=10, street_id=100, kind_id=7, category_id=3,
                skill_ids=frozenset({1, 2}), weekday=5, slot="morning", open_to_all=False,
                places=3, urgency=1)
    return SessionFacts(**{**base, **kw})


def test_cost_adds_fit_distance_fairness_and_urgency():
    # Half the skills missing (15), same community (15), no load, normal urgency (20).
    assert scoring.session_cost(member(), session(), W) == 15 + 15 + 0 + 20
    # Urgent: nothing added for urgency.
    assert scoring.session_cost(member(), session(urgency=3), W) == 30


def test_more_recent_service_costs_more():
    light = scoring.session_cost(member(minutes_30=60), session(), W)
    heavy = scoring.session_cost(member(minutes_30=600, minutes_90=900, claims_30=3), session(), W)
    assert heavy > light
    capped = scoring.session_cost(member(minutes_30=10**6), session(), W)
    assert capped - scoring.session_cost(member(), session(), W) == W.fairness_cap


def test_candidates_need_fit_reach_and_availability():
    # No shared skill and not willing: no fit.
    assert scoring.session_cost(member(skill_ids=frozenset({9}), willing_kind_ids=frozenset()),
                                session(), W) is None
    # Willing for the category only: a fit, at a small extra cost.
    cat = member(skill_ids=frozenset(), willing_kind_ids=frozenset(),
                 willing_category_ids=frozenset({3}))
    assert scoring.session_cost(cat, session(skill_ids=frozenset()), W) == \
        W.category_only + W.distance + 2 * W.urgency
    # Not free on Saturday morning.
    assert scoring.session_cost(member(availability=scoring.slot_bit(5, "evening")), session(),
                                W) is None
    # Another street: only when the post is open to all, at the district tier.
    far = member(community_id=20, street_id=200)
    assert scoring.session_cost(far, session(), W) is None
    assert scoring.session_cost(far, session(open_to_all=True), W) == 15 + 3 * W.distance + 20
    # Same street, other community.
    near = member(community_id=11)
    assert scoring.session_cost(near, session(), W) == 15 + 2 * W.distance + 20


def test_reasons_explain_the_cost():
    names = {1: "法律咨询", 2: "心理咨询"}
    r = scoring.explain_session(member(minutes_30=120, claims_30=1), session(), W, names)
    assert r["skills"] == ["法律咨询"] and r["willing"] == "kind"
    assert r["tier"] == "community" and r["slot"] == [5, "morning"]
    assert r["load"] == {"minutes_30": 120, "minutes_90": 0, "claims_30": 1}
    assert sum(r["parts"].values()) == scoring.session_cost(member(minutes_30=120, claims_30=1),
                                                            session(), W)


def test_urgency_from_time_to_start():
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    assert scoring.session_urgency(now + dt.timedelta(days=2), now) == 3
    assert scoring.session_urgency(now + dt.timedelta(days=6), now) == 2
    assert scoring.session_urgency(now + dt.timedelta(days=20), now) == 1


def resource(**kw):
    base = dict(id=1, kind="volunteers", area_kind="street", area_id=100,
                skill_ids=frozenset({1}), category_id=3, available_from=None,
                available_until=None, capacity=2)
    return ResourceFacts(**{**base, **kw})


def demand(**kw):
    base = dict(id=9, community_id=10, street_id=100, district_id=1, grid_id=1000,
                need_kind="volunteers", category_id=3, skill_ids=frozenset({1}),
                window_start=dt.date(2026, 12, 1), window_end=dt.date(2026, 12, 31), places=1,
                urgency=3)
    return DemandFacts(**{**base, **kw})


def test_demand_candidates():
    assert scoring.demand_cost(resource(), demand(), W) == 2 * W.distance
    # Wrong kind, area elsewhere, dates apart: no candidate.
    assert scoring.demand_cost(resource(kind="venue"), demand(), W) is None
    assert scoring.demand_cost(resource(area_id=200), demand(), W) is None
    assert scoring.demand_cost(resource(available_until=dt.date(2026, 11, 30)), demand(),
                               W) is None
    # A member's own resource in the demand's grid is nearest.
    assert scoring.demand_cost(resource(area_kind="community", area_id=10, grid_id=1000),
                               demand(), W) == 0
    # Busy owners cost more.
    assert scoring.demand_cost(resource(assignments=2), demand(), W) == \
        2 * W.distance + 2 * W.recent_claim
    r = scoring.explain_demand(resource(), demand(), W, {1: "维修"})
    assert r["skills"] == ["维修"] and r["tier"] == "street"


def test_batch_pricing_agrees_with_the_reasons_on_random_pairs():
    import random

    rng = random.Random(3)
    w = Weights(skill_gap=31, category_only=7, not_willing=19, distance=13, load_30=5, load_90=3,
                recent_claim=4, fairness_cap=90, urgency=11)

    def some(n):
        return frozenset(rng.sample(range(1, 7), rng.randint(0, n)))

    for _ in range(3000):
        m = member(community_id=rng.choice([10, 11, 20]), street_id=None,
                   skill_ids=some(3), willing_kind_ids=some(2), willing_category_ids=some(1),
                   availability=rng.getrandbits(21), minutes_30=rng.randint(0, 900),
                   minutes_90=rng.randint(0, 3000), claims_30=rng.randint(0, 5))
        m = MemberFacts(**{**{f: getattr(m, f) for f in m.__slots__},
                           "street_id": 100 if m.community_id != 20 else 200})
        s = session(skill_ids=some(3), kind_id=rng.randint(1, 6), category_id=rng.randint(1, 6),
                     weekday=rng.randint(0, 6), slot=rng.choice(scoring.SLOTS),
                     open_to_all=rng.random() < 0.3, urgency=rng.randint(1, 3))
        cost = scoring.session_cost(m, s, w)
        reasons = scoring.explain_session(m, s, w)
        reachable = reasons["tier"] is not None and m.availability & scoring.slot_bit(
            s.weekday, s.slot)
        if cost is None:
            assert not reachable or reasons["parts"]["fit"] is None
        else:
            assert reachable and sum(reasons["parts"].values()) == cost
        batch = scoring.price_session(s, [m], w)
        assert batch == ([] if cost is None else [(m.id, s.id, cost)])
