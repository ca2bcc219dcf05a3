"""Reads of the matcher: proposals and runs for staff pages, "recommended for you" for members
and "suggest volunteers" for a post short of people (the same candidates and costs as a run)."""
from __future__ import annotations

import dataclasses
from collections import defaultdict

from sqlalchemy import Select, literal, select

from timebank.core.web import db_int
from timebank.extensions import db
from timebank.lists.queries import scope_community_ids
from timebank.matching import candidates, rules, scoring
from timebank.matching.models import MatchRun, Proposal, ProposalKind, ProposalStatus
from timebank.members.models import Member, Skill
from timebank.posts.models import Post, PostSession


def _skill_names() -> dict[int, str]:
    return dict(db.session.execute(select(Skill.id, Skill.name)).all())


# --- staff pages -------------------------------------------------------------------------------


@dataclasses.dataclass
class ProposalFilter:
    status: str = ProposalStatus.PROPOSED.value
    kind: str = ""
    community_id: int | None = None
    post_id: int | None = None

    @classmethod
    def from_args(cls, args) -> ProposalFilter:
        status = args.get("status", ProposalStatus.PROPOSED.value)
        kind = args.get("kind", "")
        community = args.get("community", type=db_int)
        post = args.get("post", type=db_int)
        return cls(status=status if status in set(ProposalStatus) else "",
                   kind=kind if kind in set(ProposalKind) else "",
                   community_id=community if community and community > 0 else None,
                   post_id=post if post and post > 0 else None)

    def as_args(self) -> dict:
        pairs = {"status": self.status, "kind": self.kind, "community": self.community_id,
                 "post": self.post_id}
        return {k: v for k, v in pairs.items() if v}


def proposals(user, f: ProposalFilter) -> Select:
    """Proposals of the communities the user manages."""
    stmt = select(Proposal).where(Proposal.community_id.in_(scope_community_ids(user)))
    if f.status:
        stmt = stmt.where(Proposal.status == f.status)
    if f.kind:
        stmt = stmt.where(Proposal.kind == f.kind)
    if f.community_id:
        stmt = stmt.where(Proposal.community_id == f.community_id)
    if f.post_id:
        stmt = stmt.where(Proposal.post_id == f.post_id)
    # What each listed proposal shows, loaded per page rather than per row.
    from sqlalchemy.orm import joinedload, selectinload

    from timebank.lists.models import Resource

    stmt = stmt.options(
        selectinload(Proposal.member).options(joinedload(Member.user), joinedload(Member.community)),
        selectinload(Proposal.post), selectinload(Proposal.session),
        selectinload(Proposal.resource).options(joinedload(Resource.unit),
                                                joinedload(Resource.member).joinedload(Member.user)),
        selectinload(Proposal.demand))
    return stmt.order_by(Proposal.run_id.desc(), Proposal.community_id, Proposal.post_id,
                         Proposal.session_id, Proposal.demand_id, Proposal.cost, Proposal.id)


def proposals_in_scope(user, ids) -> list[Proposal]:
    """Proposals with these ids that the user may decide; a guessed id from elsewhere is not
    among them (the caller acts only on what it gets)."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return []
    return list(db.session.execute(
        select(Proposal).where(Proposal.id.in_(ids),
                               Proposal.community_id.in_(scope_community_ids(user)))
        .order_by(Proposal.id)).scalars())


def recent_runs(user, limit: int = 10) -> list[MatchRun]:
    """Runs whose scope the user manages (or that covered it: nightly and district runs)."""
    roots = user.scope_roots()
    if not roots:
        return []
    runs = db.session.execute(select(MatchRun).order_by(MatchRun.id.desc()).limit(200)).scalars()
    out = []
    for run in runs:
        scope = run.scope
        if scope is None or scope.can_manage(user) or any(r.is_within(scope) for r in roots):
            out.append(run)
        if len(out) >= limit:
            break
    return out


def counts(user) -> dict[str, int]:
    from sqlalchemy import func

    return dict(db.session.execute(
        select(Proposal.status, func.count())
        .where(Proposal.community_id.in_(scope_community_ids(user)))
        .group_by(Proposal.status)).all())


def proposals_for_demand(demand) -> list[Proposal]:
    return list(db.session.execute(
        select(Proposal).where(Proposal.demand_id == demand.id,
                               Proposal.status != ProposalStatus.SUPERSEDED.value)
        .order_by(Proposal.id.desc()).limit(50)).scalars())


def short_sessions(user, limit: int = 20) -> list[PostSession]:
    """Upcoming open sessions in the user's communities that still have places."""
    from timebank.core import clock
    from timebank.posts.models import PostStatus

    return list(db.session.execute(
        select(PostSession).join(Post, Post.id == PostSession.post_id)
        .where(Post.community_id.in_(scope_community_ids(user)),
               Post.status == PostStatus.PUBLISHED.value, PostSession.cancelled.is_(False),
               PostSession.starts_at > clock.now(),
               PostSession.claimed < PostSession.capacity)
        .order_by(PostSession.starts_at).limit(limit)).scalars())


# --- members: recommended for you --------------------------------------------------------------


@dataclasses.dataclass
class Recommendation:
    post: Post
    session: PostSession
    cost: int
    reasons: dict


def recommended_posts(member: Member, limit: int = 20) -> list[Recommendation]:
    """Posts that fit the member (skills or willingness, reach, free time), cheapest first, with
    the best session of each; sessions already claimed or posts rejected for them are left
    out."""
    if member is None or not member.is_approved:
        return []
    cfg = rules.current()
    problem = candidates.load_post_problem(cfg, member_ids=[member.id], keep_full=True)
    facts = problem.members.get(member.id)
    if facts is None:
        return []
    best: dict[int, tuple[int, object, int]] = {}
    for _m, session_id, cost in problem.pairs:
        s = problem.sessions[session_id]
        key = (cost, problem.starts_at[session_id], session_id)
        if s.post_id not in best or key < best[s.post_id]:
            best[s.post_id] = key
    chosen = sorted(best.values())[:limit]
    if not chosen:
        return []
    sessions = {s.id: s for s in db.session.execute(
        select(PostSession).where(PostSession.id.in_([c[2] for c in chosen]))).scalars()}
    names = _skill_names()
    return [Recommendation(post=sessions[sid].post, session=sessions[sid], cost=cost,
                           reasons=scoring.explain_session(facts, problem.sessions[sid],
                                                           cfg.weights, names))
            for cost, _start, sid in chosen if sid in sessions]


# --- staff: suggest volunteers for a post ------------------------------------------------------


@dataclasses.dataclass
class Suggestion:
    member: Member
    cost: int
    reasons: dict


@dataclasses.dataclass
class SessionSuggestions:
    session: PostSession
    places: int
    candidates: list[Suggestion]


def suggest_volunteers(post: Post, per_session: int = 10) -> list[SessionSuggestions]:
    """For each open session of ``post`` with places left, the cheapest candidates."""
    cfg = rules.current()
    problem = candidates.load_post_problem(cfg, post_ids=[post.id])
    by_session: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for member_id, session_id, cost in problem.pairs:
        by_session[session_id].append((cost, member_id))
    top = {sid: sorted(rows)[:per_session] for sid, rows in by_session.items()}
    member_ids = {m for rows in top.values() for _c, m in rows}
    members = {m.id: m for m in db.session.execute(
        select(Member).where(Member.id.in_(member_ids) if member_ids else literal(False))
    ).scalars()}
    sessions = {s.id: s for s in db.session.execute(
        select(PostSession).where(PostSession.id.in_(list(problem.sessions) or [0]))
        .order_by(PostSession.starts_at)).scalars()}
    names = _skill_names()
    out = []
    for sid, session in sorted(sessions.items(), key=lambda kv: kv[1].starts_at):
        facts = problem.sessions[sid]
        out.append(SessionSuggestions(session=session, places=facts.places, candidates=[
            Suggestion(member=members[m], cost=c, reasons=scoring.explain_session(
                problem.members[m], facts, cfg.weights, names))
            for c, m in top.get(sid, []) if m in members]))
    return out
