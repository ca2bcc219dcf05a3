"""Every write on teams: creating one, enrolling and removing members, the leader, the active
flag, and the team claim. Each takes the acting user, validates, flushes, never commits; the
caller commits once, or rolls back on a DomainError (nothing half-written)."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.posts import operations as posts_ops
from timebank.posts.models import Claim, Post, PostSession
from timebank.teams.models import (Team, TeamClaim, TeamClaimPlace, TeamKind, TeamMembership,
                                   TeamRole)

MAX_NAME = 100
#: The most places one team claim takes (a team claim is for a group, not a whole street).
MAX_TEAM_CLAIM = 50


class NotTeamLeader(Forbidden):
    code = "not_team_leader"
    default_message = _l("Only the team's leader can claim places for the team.")


class TeamInactive(Conflict):
    code = "team_inactive"
    default_message = _l("This team is no longer active.")


class TeamClaimTooFew(Conflict):
    """Fewer places left than members named: the team claim takes none (all-or-nothing)."""

    code = "team_claim_too_few"


class TeamClaimRefused(Conflict):
    """One named member's claim was refused (the posts claim's reason, with the name)."""

    code = "team_claim_refused"


def _check_manages(actor, team_or_node) -> None:
    if actor is not None and not team_or_node.can_manage(actor):
        raise Forbidden()


def _community_and_grid(owner: OrgNode) -> tuple[OrgNode, OrgNode | None]:
    if owner.kind == OrgKind.COMMUNITY:
        return owner, None
    if owner.kind == OrgKind.GRID:
        return owner.parent, owner
    raise Invalid(_l("A team belongs to a community or to a grid of one."), field="owner_id")


def create_team(actor, owner: OrgNode, name: str, kind: str, leader: Member,
                specialties: str = "", joined_on: dt.date | None = None) -> Team:
    """A new active team of ``owner`` (a community or a grid) with ``leader`` as its first
    member and leader."""
    community, grid = _community_and_grid(owner)
    _check_manages(actor, community)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("Give the team a name."), field="name")
    if len(name) > MAX_NAME:
        raise Invalid(_l("The team name is too long (at most %(n)d characters).", n=MAX_NAME),
                      field="name")
    if kind not in {k.value for k in TeamKind}:
        raise Invalid(_l("Choose the kind of team."), field="kind")
    if db.session.execute(select(Team.id).where(Team.community_id == community.id,
                                                Team.name == name)).first():
        raise Invalid(_l("This community already has a team with that name."), field="name")
    team = Team(name=name, kind=kind, community_id=community.id,
                grid_id=grid.id if grid else None, specialties=(specialties or "").strip(),
                active=True, created_at=clock.now(),
                created_by_id=actor.id if actor is not None else None)
    db.session.add(team)
    db.session.flush()
    enrol(actor, team, leader, role=TeamRole.LEADER, joined_on=joined_on, field="leader_phone")
    audit.record(actor, "team.create", "team", team.id, name=name, kind=kind)
    return team


def current_membership(team: Team, member: Member) -> TeamMembership | None:
    return db.session.execute(select(TeamMembership).where(
        TeamMembership.team_id == team.id, TeamMembership.member_id == member.id,
        TeamMembership.left_on.is_(None))).scalar_one_or_none()


def enrol(actor, team: Team, member: Member, role: str = TeamRole.MEMBER,
          joined_on: dt.date | None = None, field: str = "phone") -> TeamMembership:
    """Put an approved member in the team. Members of another community may join only when it is
    in the same street as the team's community (teams serve where their members can go)."""
    _check_manages(actor, team)
    if not team.active:
        raise TeamInactive()
    # The street first: staff learn nothing (not even the name) about a member elsewhere.
    if (member.community_id != team.community_id
            and not posts_ops.same_street(member.community, team.community)):
        raise Invalid(_l("The member with this mobile number lives in another street; only "
                         "members of the team's street can join it."), field=field)
    if not member.is_approved:
        raise Invalid(_l("The report (报到) of %(name)s is not approved or no longer active; they "
                         "cannot join a team.",
                         name=member.name), field=field)
    if current_membership(team, member) is not None:
        raise Invalid(_l("%(name)s is already in this team.", name=member.name), field=field)
    joined_on = joined_on or clock.today()
    if joined_on > clock.today():
        raise Invalid(_l("The joining date cannot be in the future."), field="joined_on")
    row = TeamMembership(team_id=team.id, member_id=member.id, role=TeamRole(role).value,
                         joined_on=joined_on, created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "team.enrol", "team", team.id, member=member.id, role=row.role)
    return row


def remove(actor, membership: TeamMembership, left_on: dt.date | None = None) -> None:
    """The member leaves the team (the row stays as history). The leader cannot leave until
    another member has been made leader."""
    team = membership.team
    _check_manages(actor, team)
    if not membership.is_current:
        raise Conflict(_l("This member has already left the team."))
    if membership.role == TeamRole.LEADER:
        raise Conflict(_l("Make another member the team leader before removing the leader."))
    left_on = left_on or clock.today()
    membership.left_on = max(left_on, membership.joined_on)
    db.session.flush()
    audit.record(actor, "team.remove", "team", team.id, member=membership.member_id)


def set_leader(actor, membership: TeamMembership) -> None:
    """Make a current member the leader; the previous leader stays as a member."""
    team = membership.team
    _check_manages(actor, team)
    if not membership.is_current:
        raise Conflict(_l("This member has already left the team."))
    if membership.role == TeamRole.LEADER:
        return
    for row in db.session.execute(select(TeamMembership).where(
            TeamMembership.team_id == team.id, TeamMembership.left_on.is_(None),
            TeamMembership.role == TeamRole.LEADER.value)).scalars():
        row.role = TeamRole.MEMBER.value
    db.session.flush()  # the old leader first: one current leader per team (partial index)
    membership.role = TeamRole.LEADER.value
    db.session.flush()
    audit.record(actor, "team.leader", "team", team.id, member=membership.member_id)


def set_active(actor, team: Team, active: bool) -> None:
    _check_manages(actor, team)
    team.active = bool(active)
    db.session.flush()
    audit.record(actor, "team.active", "team", team.id, active=team.active)


def leader_of(team: Team) -> Member | None:
    return db.session.execute(
        select(Member).join(TeamMembership, TeamMembership.member_id == Member.id)
        .where(TeamMembership.team_id == team.id, TeamMembership.left_on.is_(None),
               TeamMembership.role == TeamRole.LEADER.value)).scalar_one_or_none()


def team_claim(actor, team: Team, session: PostSession, members: list[Member]) -> TeamClaim:
    """The leader claims one place of ``session`` for each of ``members`` (current members of
    the team) in one step. All or nothing: when fewer places are left than members named, or
    any member's claim is refused (already claimed, a time clash, their monthly limit ...), it
    raises and the caller rolls back, so no place is taken.

    Race-safe: the session's row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; on
    SQLite writing transactions start with ``BEGIN IMMEDIATE`` and so run one at a time), so
    between counting the free places and taking them no other claim can take one; two leaders
    after the last places are served one after the other, and the second is refused whole.
    Each place is then taken by the posts claim itself (its conditional UPDATE still guards
    capacity). The claims are made with the system as actor: the posts claim lets a member
    claim only for themselves, and here the authority is the leader's, checked above."""
    leader = leader_of(team)
    if actor is not None and (leader is None or leader.user_id != actor.id):
        raise NotTeamLeader()
    if not team.active:
        raise TeamInactive()
    post: Post = session.post
    ids = [m.id for m in members]
    if not ids:
        raise Invalid(_l("Choose at least one team member."), field="member_ids")
    if len(set(ids)) != len(ids):
        raise Invalid(_l("A member is named twice."), field="member_ids")
    if len(ids) > MAX_TEAM_CLAIM:
        raise Invalid(_l("At most %(n)d members in one team claim.", n=MAX_TEAM_CLAIM),
                      field="member_ids")
    current = set(db.session.execute(select(TeamMembership.member_id).where(
        TeamMembership.team_id == team.id, TeamMembership.left_on.is_(None),
        TeamMembership.member_id.in_(ids))).scalars())
    strangers = [m.name for m in members if m.id not in current]
    if strangers:
        raise Invalid(_l("Not in this team: %(names)s.", names="、".join(strangers)),
                      field="member_ids")
    locked = db.session.execute(
        select(PostSession.claimed, PostSession.capacity, PostSession.cancelled)
        .where(PostSession.id == session.id).with_for_update()).one_or_none()
    if locked is None:
        raise NotFound()
    claimed, capacity, _cancelled = locked
    left = max(capacity - claimed, 0)
    if left < len(ids):
        raise TeamClaimTooFew(_l(
            "Only %(left)d place(s) are left in this session and you named %(n)d members; "
            "the team claim takes all places or none, so nothing was claimed.",
            left=left, n=len(ids)), left=left)
    now = clock.now()
    row = TeamClaim(team_id=team.id, session_id=session.id,
                    claimed_by_id=actor.id if actor is not None else None, created_at=now)
    db.session.add(row)
    db.session.flush()
    for member in members:
        try:
            outcome = posts_ops.claim(None, member, post, session=session)
        except DomainError as e:
            raise TeamClaimRefused(_l("%(name)s: %(reason)s Nothing was claimed for the team.",
                                      name=member.name, reason=str(e.message)),
                                   member=member.id, reason=e.code) from e
        claim_row: Claim = outcome.claims[0]
        db.session.add(TeamClaimPlace(team_claim_id=row.id, claim_id=claim_row.id,
                                      member_id=member.id))
    db.session.flush()
    audit.record(actor, "team.claim", "team", team.id, session=session.id, members=ids)
    return row
