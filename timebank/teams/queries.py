"""Reads for the team pages: which teams a user manages or belongs to, a team's members and
figures, and the sessions its leader may claim."""
from __future__ import annotations

import dataclasses

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from timebank import measures
from timebank.core import clock
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.posts.models import Post, PostSession, PostStatus
from timebank.teams.models import Team, TeamClaim, TeamMembership, TeamRole


def managed_teams(user, kind: str = "") -> Select:
    """Teams of the communities the user manages (staff of a street: all its communities')."""
    roots = user.scope_roots()
    if not roots:
        return select(Team).where(Team.id.is_(None))
    stmt = (select(Team).join(OrgNode, OrgNode.id == Team.community_id)
            .where(or_(*(OrgNode.path.startswith(r.path) for r in roots)))
            .order_by(Team.active.desc(), OrgNode.name, Team.name))
    if kind:
        stmt = stmt.where(Team.kind == kind)
    return stmt


def member_of(user) -> Member | None:
    return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one_or_none()


def my_memberships(member: Member) -> list[TeamMembership]:
    """The member's current teams (我的服务队), active teams first."""
    return list(db.session.execute(
        select(TeamMembership).join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.member_id == member.id, TeamMembership.left_on.is_(None))
        .options(joinedload(TeamMembership.team))
        .order_by(Team.active.desc(), Team.name)).scalars())


def is_current_member(team: Team, user) -> bool:
    return db.session.execute(
        select(TeamMembership.id).join(Member, Member.id == TeamMembership.member_id)
        .where(TeamMembership.team_id == team.id, TeamMembership.left_on.is_(None),
               Member.user_id == user.id)).first() is not None


def may_see(team: Team, user) -> bool:
    """Staff managing the team's community, and the team's current members."""
    return team.can_manage(user) or is_current_member(team, user)


def memberships(team: Team, current: bool = True) -> list[TeamMembership]:
    cond = TeamMembership.left_on.is_(None) if current else TeamMembership.left_on.is_not(None)
    order = ((TeamMembership.role != TeamRole.LEADER.value), TeamMembership.joined_on,
             TeamMembership.id) if current else (TeamMembership.left_on.desc(),)
    return list(db.session.execute(
        select(TeamMembership).where(TeamMembership.team_id == team.id, cond)
        .options(joinedload(TeamMembership.member).joinedload(Member.community))
        .order_by(*order)).scalars())


def member_counts(team_ids) -> dict[int, int]:
    ids = list(team_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(TeamMembership.team_id, func.count(TeamMembership.id))
        .where(TeamMembership.team_id.in_(ids), TeamMembership.left_on.is_(None))
        .group_by(TeamMembership.team_id))
    found = dict(rows.all())
    return {i: found.get(i, 0) for i in ids}


@dataclasses.dataclass(frozen=True)
class TeamFigures:
    members: int
    sessions: int
    minutes: int


def figures(team: Team) -> TeamFigures:
    """The team's figures. Members: current members (not left). Verified sessions and verified
    hours: the measures ``service_sessions`` and ``verified_service_minutes`` of each current
    member (``measures.per_member``), all time and wherever they served, summed; so the
    figures follow the team as it is today (a member who leaves takes their hours along)."""
    ids = [m.member_id for m in memberships(team)]
    minutes = measures.per_member(measures.verified_service_minutes, ids)
    sessions = measures.per_member(measures.service_sessions, ids)
    return TeamFigures(len(ids), sum(sessions.values()), sum(minutes.values()))


def candidates_by_phone(phone: str) -> Member | None:
    from timebank.accounts.models import User

    return db.session.execute(
        select(Member).join(User, User.id == Member.user_id)
        .where(User.phone == (phone or "").strip())).scalar_one_or_none()


def claimable_sessions(team: Team, limit: int = 60) -> list[PostSession]:
    """Sessions the team may claim: upcoming, not cancelled, with a free place, of published
    posts of the team's street (or open to all) whose claim deadline has not passed."""
    street = team.community.street
    now = clock.now()
    communities = select(OrgNode.id).where(OrgNode.path.startswith(street.path)) if street \
        else select(OrgNode.id).where(OrgNode.id == team.community_id)
    rows = db.session.execute(
        select(PostSession).join(Post, Post.id == PostSession.post_id)
        .where(Post.status == PostStatus.PUBLISHED.value, PostSession.starts_at > now,
               PostSession.cancelled.is_(False), PostSession.claimed < PostSession.capacity,
               or_(Post.community_id.in_(communities), Post.open_to_all.is_(True)))
        .options(joinedload(PostSession.post))
        .order_by(PostSession.starts_at, PostSession.id).limit(limit)).scalars()
    return [s for s in rows if not s.post.deadline_passed(now)]


def team_claims(team: Team, limit: int = 20) -> list[TeamClaim]:
    return list(db.session.execute(
        select(TeamClaim).where(TeamClaim.team_id == team.id)
        .options(joinedload(TeamClaim.places))
        .order_by(TeamClaim.created_at.desc(), TeamClaim.id.desc()).limit(limit))
        .unique().scalars())


def owner_choices(user) -> list[OrgNode]:
    """Communities (and their grids) the user manages, for a new team's owner."""
    roots = user.scope_roots()
    if not roots:
        return []
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.active.is_(True),
                              OrgNode.kind.in_((OrgKind.COMMUNITY.value, OrgKind.GRID.value)),
                              or_(*(OrgNode.path.startswith(r.path) for r in roots)))
        .order_by(OrgNode.path)).scalars())

