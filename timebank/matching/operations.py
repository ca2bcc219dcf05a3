"""Writes of the matcher: run it for a scope (storing proposals), accept or reject proposals.

A run reads its candidates (:mod:`candidates`), solves both problems (members -> post sessions,
resources -> demands) with :func:`solver.solve`, marks the live proposals it replaces as
superseded and stores the new ones with their reasons. Accepting a post proposal claims the
session for the member through ``posts.operations.claim`` (its conditional counter keeps the
capacity); accepting a demand proposal assigns the resource to the demand's project through
``lists.operations.assign_to_demand``. Nothing here writes another package's tables.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time
from collections.abc import Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Conflict, DomainError, Forbidden, Invalid
from timebank.extensions import db
from timebank.matching import candidates, rules, scoring
from timebank.matching.models import (MatchRun, Proposal, ProposalKind, ProposalStatus,
                                      RunOrigin)
from timebank.members.models import Skill
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids

SCOPE_KINDS = (OrgKind.DISTRICT, OrgKind.STREET, OrgKind.COMMUNITY)


class AlreadyDecided(Conflict):
    code = "already_decided"
    default_message = _l("This proposal has already been decided.")


@dataclasses.dataclass
class RunResult:
    run: MatchRun
    members: int = 0
    sessions: int = 0
    post_candidates: int = 0
    post_filled: int = 0
    resources: int = 0
    demands: int = 0
    demand_candidates: int = 0
    demand_filled: int = 0
    superseded: int = 0
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def proposals(self) -> int:
        return self.post_filled + self.demand_filled

    @property
    def candidates(self) -> int:
        """Every pairing the matcher weighed: member x session plus resource x demand (the one
        number the pages call 候选, so the run's message and the run list agree)."""
        return self.post_candidates + self.demand_candidates

    def summary(self) -> str:
        t = self.timings
        return (f"run {self.run.id}: {self.post_filled} post proposals from "
                f"{self.post_candidates} candidates ({self.members} members, {self.sessions} "
                f"sessions); {self.demand_filled} demand proposals from "
                f"{self.demand_candidates} candidates; {self.superseded} superseded; "
                f"load {t.get('load', 0):.2f}s score {t.get('score', 0):.2f}s "
                f"solve {t.get('solve', 0):.2f}s store {t.get('store', 0):.2f}s")


def check_scope(actor, scope: OrgNode | None) -> None:
    if scope is not None and scope.kind not in SCOPE_KINDS:
        raise Invalid(_l("Run the matcher for a district, a street or a community."),
                      field="scope")
    if actor is not None and (scope is None or not scope.can_manage(actor)):
        raise Forbidden()


def _skill_names() -> dict[int, str]:
    return dict(db.session.execute(select(Skill.id, Skill.name)).all())


#: A candidate for the solver: it reads ``volunteer``, ``post`` and ``cost`` by attribute, and a
#: named tuple is built several times faster than its frozen ``Candidate`` (hundreds of
#: thousands per district run).
_Pair = collections.namedtuple("_Pair", "volunteer post cost")


def _solve(volunteers: dict, targets: dict, pairs, vprefix: str, tprefix: str):
    # OR-Tools and numpy (~70 MB) load when a run solves, not when a web worker starts.
    from timebank.matching import solver

    # The solver takes string ids; each is formatted once, not once per candidate.
    vname = {v: f"{vprefix}{v}" for v in {v for v, _t, _c in pairs}}
    tname = {t: f"{tprefix}{t}" for t in {t for _v, t, _c in pairs}}
    return solver.solve(
        [solver.Volunteer(name, volunteers[v].capacity) for v, name in vname.items()],
        [solver.Post(name, targets[t].places) for t, name in tname.items()],
        [_Pair(vname[v], tname[t], c) for v, t, c in pairs])


def run_matching(actor, scope: OrgNode | None, *, origin: RunOrigin = RunOrigin.CLI,
                 post_ids: Iterable[int] | None = None, include_demands: bool = True,
                 nightly_for: dt.date | None = None, now: dt.datetime | None = None
                 ) -> RunResult:
    """Match the posts (and demands) of ``scope`` (None = everywhere; only the system may) and
    store the proposals. ``post_ids`` limits the run to those posts ("suggest volunteers")."""
    check_scope(actor, scope)
    now = now or clock.now()
    cfg = rules.current()
    post_ids = sorted(set(post_ids)) if post_ids is not None else None
    geo = candidates.load_geography()
    in_scope = geo.communities_in(scope)

    def replaces_post(community_id: int, post_id: int) -> bool:
        if in_scope is not None and community_id not in in_scope:
            return False
        return post_ids is None or post_id in post_ids

    def replaces_demand(community_id: int, demand_id: int) -> bool:
        return in_scope is None or community_id in in_scope

    run = MatchRun(scope_id=scope.id if scope else None, origin=origin.value,
                   actor_id=actor.id if actor else None, started_at=now,
                   nightly_for=nightly_for, stats={}, proposals=0)
    db.session.add(run)
    db.session.flush()
    result = RunResult(run=run)

    pp = candidates.load_post_problem(cfg, scope=scope, post_ids=post_ids,
                                      replaces=replaces_post, now=now)
    timings = dict(pp.timings)
    t = time.perf_counter()
    post_solution = _solve(pp.members, pp.sessions, pp.pairs, "m", "s")
    timings["solve"] = time.perf_counter() - t
    result.members, result.sessions = len(pp.members), len(pp.sessions)
    result.post_candidates, result.post_filled = len(pp.pairs), post_solution.filled

    demand_solution, dp = None, None
    if include_demands and post_ids is None:
        dp = candidates.load_demand_problem(cfg, scope=scope, replaces=replaces_demand, now=now)
        timings["load"] += dp.timings["load"]
        timings["score"] += dp.timings["score"]
        t = time.perf_counter()
        demand_solution = _solve(dp.resources, dp.demands, dp.pairs, "r", "d")
        timings["solve"] += time.perf_counter() - t
        result.resources, result.demands = len(dp.resources), len(dp.demands)
        result.demand_candidates = len(dp.pairs)
        result.demand_filled = demand_solution.filled

    t = time.perf_counter()
    result.superseded = _supersede(scope, post_ids, include_demands and post_ids is None, now)
    names = _skill_names()
    w = cfg.weights
    rows = []
    for a in post_solution.assignments:
        m, s = pp.members[int(a.volunteer[1:])], pp.sessions[int(a.post[1:])]
        rows.append({"run_id": run.id, "kind": ProposalKind.POST.value,
                     "community_id": s.community_id, "member_id": m.id, "post_id": s.post_id,
                     "session_id": s.id, "resource_id": None, "demand_id": None,
                     "cost": a.cost, "reasons": scoring.explain_session(m, s, w, names),
                     "status": ProposalStatus.PROPOSED.value, "created_at": now})
    if demand_solution is not None:
        for a in demand_solution.assignments:
            r, d = dp.resources[int(a.volunteer[1:])], dp.demands[int(a.post[1:])]
            rows.append({"run_id": run.id, "kind": ProposalKind.DEMAND.value,
                         "community_id": d.community_id, "member_id": None, "post_id": None,
                         "session_id": None, "resource_id": r.id, "demand_id": d.id,
                         "cost": a.cost, "reasons": scoring.explain_demand(r, d, w, names),
                         "status": ProposalStatus.PROPOSED.value, "created_at": now})
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Proposal.__table__), rows[start:start + 2000])
    timings["store"] = time.perf_counter() - t
    result.timings = timings
    run.proposals = len(rows)
    run.finished_at = clock.now()
    run.stats = {
        "members": result.members, "sessions": result.sessions,
        "post_candidates": result.post_candidates, "post_filled": result.post_filled,
        "post_cost": post_solution.total_cost, "resources": result.resources,
        "demands": result.demands, "demand_candidates": result.demand_candidates,
        "demand_filled": result.demand_filled, "superseded": result.superseded,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    db.session.flush()
    audit.record(actor, "match.run", "match_run", run.id, scope=scope.code if scope else None,
                 origin=origin.value, proposals=len(rows))
    return result


def _supersede(scope: OrgNode | None, post_ids: list[int] | None, demands: bool,
               now: dt.datetime) -> int:
    """Live proposals of the scope give way to the new run's."""
    where = [Proposal.status == ProposalStatus.PROPOSED.value]
    if scope is not None:
        where.append(Proposal.community_id.in_(subtree_ids(scope, OrgKind.COMMUNITY)))
    kinds = [ProposalKind.POST.value] + ([ProposalKind.DEMAND.value] if demands else [])
    where.append(Proposal.kind.in_(kinds))
    if post_ids is not None:
        where.append(Proposal.post_id.in_(post_ids))
    return db.session.execute(
        update(Proposal).where(*where)
        .values(status=ProposalStatus.SUPERSEDED.value, decided_at=now)
        .execution_options(synchronize_session=False)).rowcount


# --- decisions ---------------------------------------------------------------------------------


def _decide(actor, proposal: Proposal, status: ProposalStatus) -> None:
    """Conditional: of two staff deciding at once, one wins and the other is told."""
    if actor is not None and not proposal.can_decide(actor):
        raise Forbidden()
    changed = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id,
                               Proposal.status == ProposalStatus.PROPOSED.value)
        .values(status=status.value, decided_at=clock.now(),
                decided_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(proposal)
    if changed != 1:
        raise AlreadyDecided()


def accept(actor, proposal: Proposal) -> Proposal:
    """Make the proposal real: the member's claim on the session, or the resource on the
    demand's project. Raises the posts' or lists' named rejections (full, closed ...)."""
    _decide(actor, proposal, ProposalStatus.ACCEPTED)
    if proposal.kind == ProposalKind.POST:
        from timebank.posts import operations as posts

        session = proposal.session
        # The claim is the member's, made on their behalf: the posts package checks the
        # member may claim it (approved, in reach, open, before the deadline, a place left).
        outcome = posts.claim(None, proposal.member, session.post, session)
        proposal.claim_id = outcome.claims[0].id
        _tell_member(proposal)
    else:
        from timebank.lists import operations as lists

        project = lists.assign_to_demand(actor, proposal.demand, proposal.resource)
        proposal.project_id = project.id
    db.session.flush()
    audit.record(actor, "proposal.accept", "match_proposal", proposal.id,
                 claim=proposal.claim_id, project=proposal.project_id)
    return proposal


def _tell_member(proposal: Proposal) -> None:
    from flask import url_for
    from werkzeug.routing import BuildError

    from timebank.inbox import operations as inbox

    session = proposal.session
    try:
        link = url_for("posts.my_claims")
    except (BuildError, RuntimeError):
        link = None
    with force_locale("zh_CN"):
        subject = _("You have been signed up: %(title)s", title=session.post.title)
        body = _("The community matched you to the session of %(when)s and claimed a place "
                 "for you. If you cannot come, withdraw the claim in time.",
                 when=clock.to_local(session.starts_at).strftime("%Y-%m-%d %H:%M"))
    inbox.send(proposal.member.user_id, subject, body, link=link,
               dedup_key=f"proposal-accepted:{proposal.id}")


def reject(actor, proposal: Proposal) -> None:
    """Never propose this member for this post (or this resource for this demand) again."""
    _decide(actor, proposal, ProposalStatus.REJECTED)
    audit.record(actor, "proposal.reject", "match_proposal", proposal.id)


@dataclasses.dataclass
class BulkOutcome:
    done: int = 0
    #: (proposal id, message) of those that could not be decided.
    failed: list[tuple[int, str]] = dataclasses.field(default_factory=list)


def decide_many(actor, proposals: Iterable[Proposal], action: str) -> BulkOutcome:
    """Accept or reject each proposal on its own: one that fails (a full session, a decision
    made meanwhile) is rolled back alone and reported; the others stand."""
    if action not in ("accept", "reject"):
        raise Invalid(_l("Unknown action."), field="action")
    out = BulkOutcome()
    for p in proposals:
        savepoint = db.session.begin_nested()
        try:
            if action == "accept":
                accept(actor, p)
            else:
                reject(actor, p)
        except DomainError as e:
            savepoint.rollback()
            out.failed.append((p.id, str(e.message)))
        else:
            savepoint.commit()
            out.done += 1
    return out


# --- settings ----------------------------------------------------------------------------------


def can_edit_settings(user) -> bool:
    from timebank.accounts.models import Role

    return user.has_role(Role.DISTRICT_ADMIN)


def update_settings(actor, values: dict[str, int]) -> list[str]:
    """Store the matcher settings (district admins); returns the keys that changed."""
    from timebank.core import settings

    if actor is not None and not can_edit_settings(actor):
        raise Forbidden()
    changed = []
    for key, value in values.items():
        if key not in rules.BOUNDS:
            raise Invalid(_l("Unknown setting."), field=key)
        low, high = rules.BOUNDS[key]
        if type(value) is not int or not low <= value <= high:
            raise Invalid(_l("Between %(low)d and %(high)d.", low=low, high=high), field=key)
        if settings.get(key) != value:
            settings.put(actor, key, value)
            changed.append(key)
    if changed:
        audit.record(actor, "match.settings", "setting", None,
                     changed={k: values[k] for k in changed})
    return changed
