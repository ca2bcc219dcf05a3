"""Writes of the recognition feature. Every function takes the acting user (None = the system),
validates, flushes and never commits."""
from __future__ import annotations

import hashlib
import itertools
import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import Role
from timebank.audit import operations as audit
from timebank.core import clock, settings
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode
from timebank.recognition import notice, queries, rules
from timebank.recognition.errors import (
    DuplicateObjection,
    ListExists,
    ListFrozen,
    NoticeClosed,
    NoticeNotOver,
    OpenObjections,
    WrongListStatus,
)
from timebank.recognition.models import (
    AWARD_KINDS,
    AwardList,
    AwardNominee,
    AwardObjection,
    ListStatus,
    NomineeStatus,
    ObjectionStatus,
    RankingSnapshot,
    RankingSnapshotEntry,
)

MAX_TOP_N = 200
MAX_LEVELS = 10


def canonical_json(value) -> str:
    """The one serialisation that is hashed: sorted keys, no whitespace, UTF-8 text as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- star thresholds -----------------------------------------------------------------------------

def set_star_thresholds(actor, hours) -> list[int]:
    """Change the star thresholds (district admins). Levels shown from now on use them; award
    lists already frozen and snapshots already taken keep the levels they recorded."""
    if actor is not None and not actor.has_role(Role.DISTRICT_ADMIN):
        raise Forbidden()
    try:
        values = [int(h) for h in hours]
    except (TypeError, ValueError):
        raise Invalid(_l("Enter whole numbers of hours."), field="thresholds") from None
    if not 1 <= len(values) <= MAX_LEVELS:
        raise Invalid(_l("Enter between 1 and %(n)d thresholds.", n=MAX_LEVELS),
                      field="thresholds")
    if values[0] <= 0 or any(b <= a for a, b in itertools.pairwise(values)):
        raise Invalid(_l("Thresholds must be positive and strictly increasing."),
                      field="thresholds")
    previous = rules.star_thresholds()
    settings.put(actor, rules.STAR_THRESHOLDS, values)
    audit.record(actor, "recognition.star_thresholds", "setting", None, before=previous,
                 after=values)
    return values


# --- award lists -----------------------------------------------------------------------------

def _require_organiser(actor, scope: OrgNode) -> None:
    if actor is not None and not actor.administers(scope):
        raise Forbidden()


def draw_list(actor, year: int, kind: str, scope: OrgNode, top_n: int) -> AwardList:
    """Draw a nomination list from ``scope``'s ranking for ``year``: its first ``top_n``
    approved members (the ranking's tie-breaks leave no two members on the same rank)."""
    info = AWARD_KINDS.get(kind)
    if info is None:
        raise Invalid(_l("Choose an award."), field="kind")
    if OrgKind(scope.kind) not in info.scopes:
        raise Invalid(_l("This award is not given at this level."), field="scope_id")
    _require_organiser(actor, scope)
    if not 2000 <= year <= clock.today().year:
        raise Invalid(_l("Choose a year up to this one."), field="year")
    if not 1 <= top_n <= MAX_TOP_N:
        raise Invalid(_l("Between 1 and %(n)d nominees.", n=MAX_TOP_N), field="top_n")
    exists = db.session.execute(select(AwardList.id).where(
        AwardList.year == year, AwardList.kind == kind, AwardList.scope_id == scope.id)).first()
    if exists:
        raise ListExists()
    award_list = AwardList(year=year, kind=kind, scope_id=scope.id, scope=scope, top_n=top_n,
                           status=ListStatus.DRAFT.value, created_at=clock.now(),
                           created_by_id=actor.id if actor else None)
    db.session.add(award_list)
    try:
        db.session.flush()
    except IntegrityError:
        raise ListExists() from None
    for row in _top(scope, year, top_n):
        db.session.add(AwardNominee(
            list_id=award_list.id, member_id=row.member_id, rank=row.rank, name=row.name,
            community_name=row.community_name, unit_name=row.unit_name,
            service_minutes=row.minutes, sessions=row.sessions, reached_at=row.reached_at,
            star_level=row.star_level, status=NomineeStatus.NOMINATED.value))
    db.session.flush()
    audit.record(actor, "recognition.draw", "award_list", award_list.id, year=year, kind=kind,
                 scope=scope.code, top_n=top_n)
    return award_list


def _top(scope: OrgNode, year: int, top_n: int) -> list[queries.RankRow]:
    chosen: list[queries.RankRow] = []
    offset, page = 0, max(top_n * 2, 50)
    while True:
        rows = queries.ranking(scope, year, limit=page, offset=offset).rows
        if not rows:
            return chosen
        approved = set(db.session.execute(select(Member.id).where(
            Member.id.in_([r.member_id for r in rows]),
            Member.status == MemberStatus.APPROVED)).scalars())
        for row in rows:
            if row.member_id in approved:
                chosen.append(row)
                if len(chosen) == top_n:
                    return chosen
        offset += page


def _editable(award_list: AwardList) -> None:
    if award_list.status == ListStatus.FROZEN:
        raise ListFrozen()


def remove_nominee(actor, nominee: AwardNominee, reason: str) -> None:
    """Take a nominee off a draft list (e.g. not eligible), with the reason kept."""
    award_list = nominee.award_list
    _require_organiser(actor, award_list.scope)
    _editable(award_list)
    if award_list.status != ListStatus.DRAFT:
        raise WrongListStatus(_l("Once published, a nominee is removed only by upholding an "
                                 "objection."))
    reason = _text(reason, "reason", 2, 500)
    if nominee.status == NomineeStatus.REMOVED:
        return
    nominee.status = NomineeStatus.REMOVED.value
    nominee.removed_reason = reason
    db.session.flush()
    audit.record(actor, "recognition.remove_nominee", "award_nominee", nominee.id,
                 list_id=award_list.id, reason=reason)


def delete_draft(actor, award_list: AwardList) -> None:
    _require_organiser(actor, award_list.scope)
    _editable(award_list)
    if award_list.status != ListStatus.DRAFT:
        raise WrongListStatus(_l("Only a draft can be deleted."))
    db.session.execute(delete(AwardNominee).where(AwardNominee.list_id == award_list.id))
    audit.record(actor, "recognition.delete_draft", "award_list", award_list.id,
                 year=award_list.year, kind=award_list.kind)
    db.session.delete(award_list)
    db.session.flush()


def publish(actor, award_list: AwardList) -> None:
    """Start the public notice (公示): the list becomes visible to the members of its scope,
    who may object until the notice ends."""
    _require_organiser(actor, award_list.scope)
    _editable(award_list)
    if award_list.status != ListStatus.DRAFT:
        raise WrongListStatus()
    nominees = queries.active_nominees(award_list)
    if not nominees:
        raise WrongListStatus(_l("The list has no nominees."))
    now = clock.now()
    ends = notice.notice_end(now, int(settings.get(rules.NOTICE_DAYS)),
                             settings.get(rules.NOTICE_HOLIDAYS),
                             settings.get(rules.NOTICE_WORKDAYS))
    award_list.status = ListStatus.PUBLISHED.value
    award_list.published_at = now
    award_list.notice_ends_at = ends
    db.session.flush()
    audit.record(actor, "recognition.publish", "award_list", award_list.id,
                 notice_ends_at=award_list.notice_ends_at.isoformat())
    link = f"/recognition/awards/{award_list.id}"
    for n in nominees:
        inbox.send(n.member.user_id, _l("You are nominated: %(title)s", title=award_list.title),
                   _l("The list is in public notice until %(end)s.",
                      end=clock.to_local(award_list.notice_ends_at).strftime("%Y-%m-%d %H:%M")),
                   link=link, dedup_key=f"award:{award_list.id}:nominated:{n.member_id}")


def file_objection(actor, award_list: AwardList, nominee: AwardNominee, reason: str
                   ) -> AwardObjection:
    """A member in the list's scope objects to a nominee during the notice period."""
    member = db.session.query(Member).filter_by(user_id=actor.id).one_or_none()
    if not award_list.in_scope(member):
        raise Forbidden(_l("Only members within the list's organisation may object."))
    if award_list.status == ListStatus.FROZEN or not award_list.notice_open():
        raise NoticeClosed()
    if nominee.list_id != award_list.id or nominee.status != NomineeStatus.NOMINATED:
        raise Invalid(_l("Choose a nominee on the list."), field="nominee_id")
    reason = _text(reason, "reason", 5, 1000)
    duplicate = db.session.execute(select(AwardObjection.id).where(
        AwardObjection.nominee_id == nominee.id, AwardObjection.filed_by_id == actor.id,
        AwardObjection.status == ObjectionStatus.OPEN)).first()
    if duplicate:
        raise DuplicateObjection()
    objection = AwardObjection(list_id=award_list.id, nominee_id=nominee.id,
                               filed_by_id=actor.id, filed_at=clock.now(), reason=reason,
                               status=ObjectionStatus.OPEN.value)
    db.session.add(objection)
    db.session.flush()
    audit.record(actor, "recognition.objection", "award_objection", objection.id,
                 list_id=award_list.id, nominee_id=nominee.id)
    if award_list.created_by_id:
        inbox.send(award_list.created_by_id,
                   _l("New objection to %(title)s", title=award_list.title),
                   link=f"/recognition/awards/{award_list.id}",
                   dedup_key=f"award:{award_list.id}:objection:{objection.id}")
    return objection


def resolve_objection(actor, objection: AwardObjection, uphold: bool, note: str) -> None:
    """Uphold (the nominee is removed from the list) or dismiss an open objection."""
    award_list = db.session.get(AwardList, objection.list_id)
    _require_organiser(actor, award_list.scope)
    _editable(award_list)
    if award_list.status != ListStatus.PUBLISHED:
        raise WrongListStatus()
    if objection.status != ObjectionStatus.OPEN:
        raise WrongListStatus(_l("This objection is already resolved."))
    note = _text(note, "note", 2, 1000)
    now = clock.now()
    objection.status = (ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED).value
    objection.resolved_at = now
    objection.resolved_by_id = actor.id if actor else None
    objection.resolution = note
    if uphold:
        nominee = objection.nominee
        nominee.status = NomineeStatus.REMOVED.value
        nominee.removed_reason = note
        # Other open objections to the same nominee are settled by this decision.
        db.session.execute(
            update(AwardObjection)
            .where(AwardObjection.nominee_id == nominee.id, AwardObjection.id != objection.id,
                   AwardObjection.status == ObjectionStatus.OPEN)
            .values(status=ObjectionStatus.UPHELD.value, resolved_at=now,
                    resolved_by_id=actor.id if actor else None, resolution=note)
            .execution_options(synchronize_session="fetch"))
    db.session.flush()
    audit.record(actor, "recognition.resolve_objection", "award_objection", objection.id,
                 uphold=uphold)
    inbox.send(objection.filed_by_id,
               _l("Your objection to %(title)s was upheld", title=award_list.title) if uphold
               else _l("Your objection to %(title)s was dismissed", title=award_list.title),
               note, link=f"/recognition/awards/{award_list.id}",
               dedup_key=f"award:{award_list.id}:resolved:{objection.id}")


def figures_of(award_list: AwardList, nominees: list[AwardNominee], frozen_at) -> dict:
    """What a frozen list records (and hashes): the list and each remaining nominee's figures."""
    return {
        "list": {
            "id": award_list.id, "year": award_list.year, "kind": award_list.kind,
            "scope_code": award_list.scope.code, "scope_name": award_list.scope.name,
            "top_n": award_list.top_n,
            "published_at": award_list.published_at.isoformat(),
            "notice_ends_at": award_list.notice_ends_at.isoformat(),
            "frozen_at": frozen_at.isoformat(),
        },
        "entries": [{
            "rank": n.rank, "member_id": n.member_id, "name": n.name,
            "community": n.community_name, "unit": n.unit_name,
            "service_minutes": n.service_minutes, "sessions": n.sessions,
            "reached_at": n.reached_at.isoformat(), "star_level": n.star_level,
        } for n in nominees],
    }


def freeze(actor, award_list: AwardList) -> str:
    """Make the list final once the notice is over and every objection is resolved. Returns
    the sha256 of the recorded figures."""
    _require_organiser(actor, award_list.scope)
    _editable(award_list)
    if award_list.status != ListStatus.PUBLISHED:
        raise WrongListStatus()
    now = clock.now()
    if now < award_list.notice_ends_at:
        raise NoticeNotOver()
    if queries.open_objection_count(award_list):
        raise OpenObjections()
    figures = canonical_json(figures_of(award_list, queries.active_nominees(award_list), now))
    digest = sha256(figures)
    # One conditional UPDATE: of two organisers freezing at once, only one wins.
    result = db.session.execute(
        update(AwardList)
        .where(AwardList.id == award_list.id, AwardList.status == ListStatus.PUBLISHED)
        .values(status=ListStatus.FROZEN.value, frozen_at=now,
                frozen_by_id=actor.id if actor else None, figures_json=figures,
                figures_sha256=digest)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise WrongListStatus()
    db.session.refresh(award_list)
    audit.record(actor, "recognition.freeze", "award_list", award_list.id, sha256=digest)
    return digest


def _text(value, field: str, lo: int, hi: int) -> str:
    value = (value or "").strip()
    if not lo <= len(value) <= hi:
        raise Invalid(_l("Enter %(lo)d to %(hi)d characters.", lo=lo, hi=hi), field=field)
    return value


# --- the year-end snapshot -----------------------------------------------------------------------

def take_snapshot(actor, year: int, scope: OrgNode) -> tuple[RankingSnapshot, bool]:
    """Store ``scope``'s ranking for ``year`` once: (snapshot, True if it was taken now)."""
    existing = queries.snapshot(year, scope)
    if existing is not None:
        return existing, False
    ranking = queries.ranking(scope, year)
    entries = [{"rank": r.rank, "member_id": r.member_id, "service_minutes": r.minutes,
                "sessions": r.sessions, "reached_at": r.reached_at.isoformat(),
                "star_level": r.star_level} for r in ranking.rows]
    snap = RankingSnapshot(year=year, scope_id=scope.id, taken_at=clock.now(),
                           star_thresholds=canonical_json(rules.star_thresholds()),
                           entries_count=len(entries),
                           entries_sha256=sha256(canonical_json(entries)))
    try:
        with db.session.begin_nested():
            db.session.add(snap)
    except IntegrityError:  # taken concurrently: theirs stands
        return queries.snapshot(year, scope), False
    if ranking.rows:
        db.session.execute(RankingSnapshotEntry.__table__.insert(), [
            {"snapshot_id": snap.id, "member_id": r.member_id, "rank": r.rank,
             "service_minutes": r.minutes, "sessions": r.sessions, "reached_at": r.reached_at,
             "star_level": r.star_level} for r in ranking.rows])
    db.session.flush()
    audit.record(actor, "recognition.snapshot", "ranking_snapshot", snap.id, year=year,
                 scope=scope.code, entries=len(entries))
    return snap, True
