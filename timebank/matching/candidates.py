"""Candidates from the database, as plain dataclasses for :mod:`scoring` and the solver.

Set-based on purpose: a run over a district (20,000 members, thousands of sessions) reads a few
grouped queries (sessions, post skills, members and their forms, verified minutes, claims,
earlier proposals) and then works on Python sets keyed by community, availability bit, skill,
kind and category. It never runs a query per member or per session.

For each session the pool is the members of the reachable communities who are free at the
session's weekday and part of day, intersected with the members who fit (one of the required
skills, or willing for the kind or its category); minus the members already holding (or having
withdrawn) a claim on it, those rejected before for the post, and pairs already proposed by a run
that is not being replaced. Each remaining pair is priced by :func:`scoring.session_cost`.

Members' capacity is their monthly limit (from their form, else the setting) minus their active
claims on sessions in the matching horizon and their proposals still awaiting a decision.
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import func, literal, or_, select, union_all

from timebank.accounts.models import User
from timebank.core import clock
from timebank.extensions import db
from timebank.matching import scoring
from timebank.matching.models import Proposal, ProposalKind, ProposalStatus
from timebank.matching.rules import Rules
from timebank.matching.scoring import DemandFacts, MemberFacts, ResourceFacts, SessionFacts
from timebank.members.models import Member, MemberStatus, slot_of
from timebank.orgs.models import OrgKind, OrgNode
from timebank.catalogue.models import PostKind
from timebank.posts.models import Claim, ClaimStatus, Post, PostSession, PostStatus

#: A predicate on (community id, post id or demand id): does the running match replace the
#: live proposals there? Those proposals neither block their pairs nor use up capacity.
Replaces = Callable[[int, int], bool]
_EMPTY: frozenset[int] = frozenset()


@dataclasses.dataclass
class Geography:
    """Communities with their street and district, and the streets' communities."""

    street_of: dict[int, int | None]
    district_of: dict[int, int | None]
    path_of: dict[int, str]
    communities_of_street: dict[int, list[int]]

    def communities_in(self, scope: OrgNode | None) -> set[int] | None:
        """Ids of the communities under ``scope`` (None = no restriction)."""
        if scope is None:
            return None
        return {c for c, path in self.path_of.items() if path.startswith(scope.path)}


def load_geography() -> Geography:
    street_of: dict[int, int | None] = {}
    path_of: dict[int, str] = {}
    parents = dict(db.session.execute(
        select(OrgNode.id, OrgNode.parent_id).where(OrgNode.kind == OrgKind.STREET.value)).all())
    for cid, parent_id, path in db.session.execute(
            select(OrgNode.id, OrgNode.parent_id, OrgNode.path)
            .where(OrgNode.kind == OrgKind.COMMUNITY.value, OrgNode.active.is_(True))):
        street_of[cid] = parent_id
        path_of[cid] = path
    by_street: dict[int, list[int]] = defaultdict(list)
    for cid, sid in street_of.items():
        by_street[sid].append(cid)
    return Geography(street_of=street_of,
                     district_of={c: parents.get(s) for c, s in street_of.items()},
                     path_of=path_of, communities_of_street=dict(by_street))


# --- members and post sessions -----------------------------------------------------------------


@dataclasses.dataclass
class PostProblem:
    members: dict[int, MemberFacts]
    sessions: dict[int, SessionFacts]
    #: (member id, session id, cost)
    pairs: list[tuple[int, int, int]]
    starts_at: dict[int, dt.datetime]
    timings: dict[str, float]


def _session_facts(now: dt.datetime, horizon: dt.timedelta, geo: Geography,
                   community_ids: set[int] | None, post_ids: Iterable[int] | None
                   ) -> tuple[dict[int, SessionFacts], dict[int, dt.datetime],
                              dict[int, dt.datetime]]:
    stmt = (
        select(PostSession.id, PostSession.post_id, PostSession.starts_at, PostSession.ends_at,
               PostSession.capacity, PostSession.claimed, Post.community_id, Post.kind_id,
               PostKind.category_id, Post.open_to_all)
        .join(Post, Post.id == PostSession.post_id)
        .join(PostKind, PostKind.id == Post.kind_id)
        .where(Post.status == PostStatus.PUBLISHED.value, PostSession.cancelled.is_(False),
               PostSession.starts_at > now, PostSession.starts_at < now + horizon,
               or_(Post.claim_deadline.is_(None), Post.claim_deadline > now),
               PostSession.claimed < PostSession.capacity)
    )
    if community_ids is not None:
        stmt = stmt.where(Post.community_id.in_(sorted(community_ids)))
    if post_ids is not None:
        stmt = stmt.where(Post.id.in_(list(post_ids)))
    rows = db.session.execute(stmt).all()
    skills: dict[int, set[int]] = defaultdict(set)
    if rows:
        from timebank.posts.models import post_skills

        wanted = {r.post_id for r in rows}
        skill_stmt = (select(post_skills.c.post_id, post_skills.c.skill_id)
                      .join(Post, Post.id == post_skills.c.post_id)
                      .where(Post.status == PostStatus.PUBLISHED.value))
        if community_ids is not None:
            skill_stmt = skill_stmt.where(Post.community_id.in_(sorted(community_ids)))
        if post_ids is not None:
            skill_stmt = skill_stmt.where(Post.id.in_(list(post_ids)))
        for pid, sid in db.session.execute(skill_stmt).all():
            if pid in wanted:
                skills[pid].add(sid)
    sessions: dict[int, SessionFacts] = {}
    starts: dict[int, dt.datetime] = {}
    ends: dict[int, dt.datetime] = {}
    for r in rows:
        if r.community_id not in geo.street_of:
            continue  # an inactive community
        local = clock.to_local(r.starts_at)
        sessions[r.id] = SessionFacts(
            id=r.id, post_id=r.post_id, community_id=r.community_id,
            street_id=geo.street_of[r.community_id], kind_id=r.kind_id,
            category_id=r.category_id, skill_ids=frozenset(skills.get(r.post_id, ())),
            weekday=local.weekday(), slot=slot_of(local.time()), open_to_all=bool(r.open_to_all),
            places=r.capacity - r.claimed, urgency=scoring.session_urgency(r.starts_at, now))
        starts[r.id], ends[r.id] = r.starts_at, r.ends_at
    return sessions, starts, ends


@dataclasses.dataclass(frozen=True, slots=True)
class _Form:
    availability: int
    max_sessions_per_month: int | None
    skill_ids: frozenset[int]
    kind_ids: frozenset[int]
    category_ids: frozenset[int]


def _members_with_forms(geo: Geography, reach: set[int] | None,
                        member_ids: Iterable[int] | None) -> list[tuple[int, int, int | None,
                                                                         _Form]]:
    """Approved, active members of the reachable communities with their current form:
    ``(member id, community id, grid id, form)``.

    Like ``members.queries.profiles_for`` but filtered by community in SQL (not by a list of
    20,000 ids) and keeping the availability as the stored bit mask, which is what the indexes
    below are built from; two queries in all.
    """
    from timebank.members.models import (MemberProfile, member_profile_categories,
                                         member_profile_kinds, member_profile_skills)

    where = [Member.status == MemberStatus.APPROVED.value, User.active.is_(True),
             Member.profile_version > 0]
    if reach is not None:
        where.append(Member.community_id.in_(sorted(reach)))
    if member_ids is not None:
        where.append(Member.id.in_(list(member_ids)))
    current = (select(MemberProfile.id, Member.id.label("member_id"), Member.community_id,
                      Member.grid_id, MemberProfile.availability,
                      MemberProfile.max_sessions_per_month)
               .join(Member, (Member.id == MemberProfile.member_id)
                     & (MemberProfile.version == Member.profile_version))
               .join(User, User.id == Member.user_id).where(*where))
    rows = db.session.execute(current).all()
    ids = select(current.subquery().c.id)
    s, k, c = member_profile_skills, member_profile_kinds, member_profile_categories
    links: tuple[dict[int, list[int]], ...] = ({}, {}, {})  # skills, kinds, categories
    for profile_id, what, ref in db.session.execute(union_all(
            select(s.c.profile_id, literal(0), s.c.skill_id).where(s.c.profile_id.in_(ids)),
            select(k.c.profile_id, literal(1), k.c.kind_id).where(k.c.profile_id.in_(ids)),
            select(c.c.profile_id, literal(2), c.c.category_id)
            .where(c.c.profile_id.in_(ids)))).all():
        links[what].setdefault(profile_id, []).append(ref)
    skills, kinds, categories = links
    out = []
    for r in rows:
        if r.community_id not in geo.street_of:
            continue
        out.append((r.member_id, r.community_id, r.grid_id,
                    _Form(r.availability, r.max_sessions_per_month,
                          frozenset(skills.get(r.id, _EMPTY)), frozenset(kinds.get(r.id, _EMPTY)),
                          frozenset(categories.get(r.id, _EMPTY)))))
    return out


def _claims_view(now: dt.datetime, horizon: dt.timedelta
                 ) -> tuple[dict[int, int], set[tuple[int, int]], dict[int, int],
                            list[tuple[dt.datetime, dt.datetime, int]]]:
    """(active claims in the horizon per member, (member, session) pairs with any claim in the
    horizon, active claims made in the last 30 days per member, (start, end, member) of the
    active claims in the horizon)."""
    in_horizon: dict[int, int] = defaultdict(int)
    pairs: set[tuple[int, int]] = set()
    busy: list[tuple[dt.datetime, dt.datetime, int]] = []
    for member_id, session_id, status, starts_at, ends_at in db.session.execute(
            select(Claim.member_id, Claim.session_id, Claim.status, PostSession.starts_at,
                   PostSession.ends_at)
            .join(PostSession, PostSession.id == Claim.session_id)
            .where(PostSession.starts_at >= now, PostSession.starts_at < now + horizon,
                   PostSession.cancelled.is_(False))).all():
        pairs.add((member_id, session_id))
        if status == ClaimStatus.ACTIVE.value:
            in_horizon[member_id] += 1
            busy.append((starts_at, ends_at, member_id))
    recent = dict(db.session.execute(
        select(Claim.member_id, func.count())
        .where(Claim.created_at >= now - dt.timedelta(days=30),
               Claim.status == ClaimStatus.ACTIVE.value)
        .group_by(Claim.member_id)).all())
    return in_horizon, pairs, recent, busy


#: Sessions last at most a day (posts.operations.MAX_CREDIT_MINUTES caps a session's length).
_LONGEST_SESSION = dt.timedelta(days=1)


def _overlapping(busy: list[tuple[dt.datetime, dt.datetime, int]],
                 starts: dict[int, dt.datetime], ends: dict[int, dt.datetime]
                 ) -> list[tuple[int, int]]:
    """(member, session) for each problem session that overlaps one of the member's active
    claims: posts refuses such a claim (time_conflict), so it is no candidate. Sorted starts and
    a bisect per claim: O(claims x log sessions + overlaps), never claims x sessions."""
    order = sorted(starts, key=starts.__getitem__)
    keys = [starts[sid] for sid in order]
    out = []
    for busy_start, busy_end, member_id in busy:
        lo = bisect.bisect_left(keys, busy_start - _LONGEST_SESSION)
        hi = bisect.bisect_left(keys, busy_end)
        out.extend((member_id, sid) for sid in order[lo:hi] if ends[sid] > busy_start)
    return out


def _service_minutes(now: dt.datetime) -> tuple[dict[int, int], dict[int, int]]:
    from timebank.ledger import queries as ledger

    return (ledger.service_minutes(None, start=now - dt.timedelta(days=30)),
            ledger.service_minutes(None, start=now - dt.timedelta(days=90)))


def _post_proposals(replaces: Replaces, now: dt.datetime, horizon: dt.timedelta
                    ) -> tuple[set[tuple[int, int]], set[tuple[int, int]], dict[int, int]]:
    """(rejected (member, post) pairs, live (member, session) pairs kept, live proposals kept
    per member)."""
    rejected: set[tuple[int, int]] = set()
    kept: set[tuple[int, int]] = set()
    kept_count: dict[int, int] = defaultdict(int)
    for member_id, post_id, session_id, community_id, status in db.session.execute(
            select(Proposal.member_id, Proposal.post_id, Proposal.session_id,
                   Proposal.community_id, Proposal.status)
            .where(Proposal.kind == ProposalKind.POST.value,
                   Proposal.status.in_([ProposalStatus.REJECTED.value,
                                        ProposalStatus.PROPOSED.value]))).all():
        if status == ProposalStatus.REJECTED:
            rejected.add((member_id, post_id))
        elif not replaces(community_id, post_id):
            kept.add((member_id, session_id))
            kept_count[member_id] += 1
    return rejected, kept, kept_count


def load_post_problem(rules: Rules, *, scope: OrgNode | None = None,
                      post_ids: Iterable[int] | None = None,
                      member_ids: Iterable[int] | None = None,
                      replaces: Replaces | None = None, keep_full: bool = False,
                      now: dt.datetime | None = None) -> PostProblem:
    """Members, open sessions and priced candidate pairs for a run.

    ``scope`` limits the posts (to a street's or community's); ``post_ids`` and ``member_ids``
    narrow further (suggestions for one post, recommendations for one member). ``replaces``
    names the live proposals this run supersedes (default: none). ``keep_full`` keeps members
    whose monthly limit is reached (recommendations still show them what fits).
    """
    t0 = time.perf_counter()
    now = now or clock.now()
    replaces = replaces or (lambda community_id, target_id: False)
    horizon = dt.timedelta(days=rules.horizon_days)
    w = rules.weights
    geo = load_geography()
    sessions, starts, ends = _session_facts(now, horizon, geo, geo.communities_in(scope),
                                            post_ids)
    empty = PostProblem({}, sessions, [], starts, {})
    if not sessions:
        empty.timings = {"load": time.perf_counter() - t0, "score": 0.0}
        return empty

    # Members who can reach these sessions: their streets, or everyone for an open post.
    reach: set[int] | None = set()
    for s in sessions.values():
        if s.open_to_all:
            reach = None
            break
        reach.update(geo.communities_of_street.get(s.street_id, ()))
    rows = _members_with_forms(geo, reach, member_ids)
    in_horizon, claimed_pairs, recent_claims, busy = _claims_view(now, horizon)
    minutes_30, minutes_90 = _service_minutes(now)
    rejected, kept_pairs, kept_count = _post_proposals(replaces, now, horizon)

    members: dict[int, MemberFacts] = {}
    for mid, community_id, grid_id, form in rows:
        if not form.availability:
            continue
        limit = (form.max_sessions_per_month if form.max_sessions_per_month is not None
                 else rules.default_monthly_limit)
        capacity = limit - in_horizon.get(mid, 0) - kept_count.get(mid, 0)
        if capacity <= 0 and not keep_full:
            continue  # the monthly limit is reached
        members[mid] = MemberFacts(
            id=mid, community_id=community_id, street_id=geo.street_of[community_id],
            grid_id=grid_id, skill_ids=form.skill_ids, willing_kind_ids=form.kind_ids,
            willing_category_ids=form.category_ids, availability=form.availability,
            capacity=max(capacity, 0), minutes_30=minutes_30.get(mid, 0),
            minutes_90=minutes_90.get(mid, 0), claims_30=recent_claims.get(mid, 0))
    t1 = time.perf_counter()

    # Indexes: who is free when, where; who fits what.
    free_at: dict[tuple[int, int], set[int]] = defaultdict(set)  # (community, bit) -> members
    free_anywhere: dict[int, set[int]] = defaultdict(set)  # bit -> members
    by_skill: dict[int, set[int]] = defaultdict(set)
    by_kind: dict[int, set[int]] = defaultdict(set)
    by_category: dict[int, set[int]] = defaultdict(set)
    for m in members.values():
        mask, bit = m.availability, 0
        while mask:
            if mask & 1:
                free_at[(m.community_id, bit)].add(m.id)
                free_anywhere[bit].add(m.id)
            mask >>= 1
            bit += 1
        for sid in m.skill_ids:
            by_skill[sid].add(m.id)
        for kid in m.willing_kind_ids:
            by_kind[kid].add(m.id)
        for cid in m.willing_category_ids:
            by_category[cid].add(m.id)
    fairness = {m.id: scoring.member_fairness(m, w) for m in members.values()}
    excluded: dict[int, set[int]] = defaultdict(set)  # session -> members
    for member_id, session_id in claimed_pairs | kept_pairs:
        excluded[session_id].add(member_id)
    for member_id, session_id in _overlapping(busy, starts, ends):
        excluded[session_id].add(member_id)
    rejected_by_post: dict[int, set[int]] = defaultdict(set)
    for member_id, post_id in rejected:
        rejected_by_post[post_id].add(member_id)

    pairs: list[tuple[int, int, int]] = []
    for s in sessions.values():
        bit = s.weekday * len(scoring.SLOTS) + scoring.SLOTS.index(s.slot)
        if s.open_to_all:
            pool = free_anywhere.get(bit, _EMPTY)
        else:
            pool = set()
            for c in geo.communities_of_street.get(s.street_id, ()):
                pool |= free_at.get((c, bit), _EMPTY)
        if not pool:
            continue
        # ``small & large`` walks the smaller set: every step here is O(pool), never O(members).
        chosen = (pool & by_kind.get(s.kind_id, _EMPTY)) | (pool & by_category.get(
            s.category_id, _EMPTY))
        for skill in s.skill_ids:
            chosen |= pool & by_skill.get(skill, _EMPTY)
        chosen -= excluded.get(s.id, _EMPTY)
        chosen -= rejected_by_post.get(s.post_id, _EMPTY)
        if chosen:
            pairs.extend(scoring.price_session(s, [members[m] for m in chosen], w, fairness))
    t2 = time.perf_counter()
    return PostProblem(members=members, sessions=sessions, pairs=pairs, starts_at=starts,
                       timings={"load": t1 - t0, "score": t2 - t1})


# --- resources and demands ---------------------------------------------------------------------


@dataclasses.dataclass
class DemandProblem:
    resources: dict[int, ResourceFacts]
    demands: dict[int, DemandFacts]
    pairs: list[tuple[int, int, int]]
    timings: dict[str, float]


def load_demand_problem(rules: Rules, *, scope: OrgNode | None = None,
                        demand_ids: Iterable[int] | None = None,
                        replaces: Replaces | None = None,
                        now: dt.datetime | None = None) -> DemandProblem:
    """Open resources, open demands (before their deadline) and priced pairs."""
    from timebank.lists import queries as lists

    t0 = time.perf_counter()
    now = now or clock.now()
    today = clock.to_local(now).date()
    replaces = replaces or (lambda community_id, target_id: False)
    w = rules.weights
    geo = load_geography()
    demand_rows = lists.open_demand_facts(geo.communities_in(scope), demand_ids, today)
    demands: dict[int, DemandFacts] = {}
    for r in demand_rows:
        if r["community_id"] not in geo.street_of:
            continue
        demands[r["id"]] = DemandFacts(
            id=r["id"], community_id=r["community_id"],
            street_id=geo.street_of[r["community_id"]],
            district_id=geo.district_of[r["community_id"]], grid_id=r["grid_id"],
            need_kind=r["need_kind"], category_id=r["category_id"],
            skill_ids=frozenset(r["skill_ids"]), window_start=r["window_start"],
            window_end=r["window_end"], places=1, urgency=r["urgency"])
    if not demands:
        return DemandProblem({}, demands, [], {"load": time.perf_counter() - t0, "score": 0.0})

    rejected: set[tuple[int, int]] = set()
    kept: set[tuple[int, int]] = set()
    kept_count: dict[int, int] = defaultdict(int)
    for resource_id, demand_id, community_id, status in db.session.execute(
            select(Proposal.resource_id, Proposal.demand_id, Proposal.community_id,
                   Proposal.status)
            .where(Proposal.kind == ProposalKind.DEMAND.value,
                   Proposal.status.in_([ProposalStatus.REJECTED.value,
                                        ProposalStatus.PROPOSED.value]))):
        if status == ProposalStatus.REJECTED:
            rejected.add((resource_id, demand_id))
        elif not replaces(community_id, demand_id):
            kept.add((resource_id, demand_id))
            kept_count[resource_id] += 1

    resources: dict[int, ResourceFacts] = {}
    for r in lists.active_resource_facts(today):
        cap = min(r["remaining"], rules.max_demands_per_resource) - kept_count.get(r["id"], 0)
        if cap <= 0:
            continue
        resources[r["id"]] = ResourceFacts(
            id=r["id"], kind=r["kind"], area_kind=r["area_kind"], area_id=r["area_id"],
            skill_ids=frozenset(r["skill_ids"]), category_id=r["category_id"],
            available_from=r["available_from"], available_until=r["available_until"],
            capacity=cap, grid_id=r["grid_id"], assignments=r["assignments"])
    t1 = time.perf_counter()
    pairs = []
    for d in demands.values():
        for res in resources.values():
            if (res.id, d.id) in rejected or (res.id, d.id) in kept:
                continue
            cost = scoring.demand_cost(res, d, w)
            if cost is not None:
                pairs.append((res.id, d.id, cost))
    pairs.sort()
    return DemandProblem(resources, demands, pairs,
                         {"load": t1 - t0, "score": time.perf_counter() - t1})
