"""Reads for the posts pages, the API, the activity card and the staff's review list."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import joinedload

from timebank.core import clock
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids
from timebank.catalogue.models import PostKind
from timebank.posts.models import (Claim, ClaimStatus, Post, PostSession, PostStatus, RecordStatus,
                                   ServiceRecord, WaitlistEntry, WaitStatus, post_skills)
from timebank.posts import search
from timebank.posts.operations import member_may_see


def member_for(user):
    from timebank.members.queries import member_for_user

    return member_for_user(user)


def can_view(user, post: Post, member=None) -> bool:
    """Staff managing the post's community see it in any state; members see what they may
    claim (their street, or open to all) once published."""
    if post.can_manage(user):
        return True
    member = member if member is not None else member_for(user)
    return member is not None and member_may_see(member, post)


# --- paging ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Page:
    """The few attributes of Flask-SQLAlchemy's Pagination the templates and the API use."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


# --- finding posts -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Filters:
    category_id: int | None = None
    kind_id: int | None = None
    skill_id: int | None = None
    day: dt.date | None = None
    #: Only posts whose required skills the member has and with a session when they are free.
    fits: bool = False
    community_id: int | None = None
    #: Keywords (Chinese, full pinyin or initials), see :mod:`timebank.posts.search`.
    text: str = ""
    #: A session starts on one of these local days (both ends included).
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: "community", "street" or "" (everything the member may claim in the district).
    scope: str = ""
    #: Only posts with an upcoming session that has a free place.
    free_only: bool = False
    #: "start": soonest session first; "" = the member's own community first, then soonest.
    sort: str = ""


@dataclasses.dataclass
class PostCard:
    post: Post
    sessions: list[PostSession]  # upcoming, not cancelled
    #: 0 = the member's own community, 1 = the rest of their street, 2 = elsewhere (open to all)
    proximity: int
    claimed_session_ids: set[int]

    @property
    def places_left(self) -> int:
        return sum(s.places_left for s in self.sessions)

    @property
    def has_claim(self) -> bool:
        return any(s.id in self.claimed_session_ids for s in self.sessions)

    @property
    def next_session(self) -> PostSession | None:
        return self.sessions[0] if self.sessions else None


def _upcoming(now: dt.datetime):
    return (PostSession.starts_at > now) & PostSession.cancelled.is_(False)


def _filtered(stmt, filters: Filters, now: dt.datetime):
    if filters.category_id:
        stmt = stmt.where(Post.kind_id.in_(select(PostKind.id).where(
            PostKind.category_id == filters.category_id)))
    if filters.kind_id:
        stmt = stmt.where(Post.kind_id == filters.kind_id)
    if filters.skill_id:
        stmt = stmt.where(exists().where(post_skills.c.post_id == Post.id,
                                         post_skills.c.skill_id == filters.skill_id))
    if filters.day:
        start, end = clock.local_day_bounds(filters.day)
        stmt = stmt.where(exists().where(PostSession.post_id == Post.id, _upcoming(now),
                                         PostSession.starts_at >= start,
                                         PostSession.starts_at < end))
    if filters.community_id:
        stmt = stmt.where(Post.community_id == filters.community_id)
    if filters.date_from or filters.date_to:
        cond = [PostSession.post_id == Post.id, _upcoming(now)]
        if filters.date_from:
            cond.append(PostSession.starts_at >= clock.local_day_bounds(filters.date_from)[0])
        if filters.date_to:
            cond.append(PostSession.starts_at < clock.local_day_bounds(filters.date_to)[1])
        stmt = stmt.where(exists().where(*cond))
    if filters.free_only:
        stmt = stmt.where(exists().where(PostSession.post_id == Post.id, _upcoming(now),
                                         PostSession.claimed < PostSession.capacity))
    query_terms = search.terms(filters.text)
    if query_terms:
        stmt = stmt.where(Post.id.in_(search.matching_post_ids(query_terms)))
    return stmt


def _sessions_by_post(post_ids: Sequence[int], now: dt.datetime) -> dict[int, list[PostSession]]:
    out: dict[int, list[PostSession]] = defaultdict(list)
    if post_ids:
        for s in db.session.execute(select(PostSession).where(
                PostSession.post_id.in_(post_ids), _upcoming(now))
                .order_by(PostSession.starts_at)).scalars():
            out[s.post_id].append(s)
    return out


def skills_by_post(post_ids: Sequence[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    if post_ids:
        for pid, sid in db.session.execute(select(post_skills.c.post_id, post_skills.c.skill_id)
                                           .where(post_skills.c.post_id.in_(post_ids))):
            out[pid].add(sid)
    return out


def fits(profile, post: Post, required_skills: set[int], sessions: list[PostSession]) -> bool:
    """The member has every required skill, is willing to do this kind of post (when they said
    what they are willing to do) and is free at one of its sessions with places left."""
    from timebank.members.models import slot_of

    if profile is None:
        return False
    if not required_skills <= set(profile.skill_ids):
        return False
    if (profile.willing_category_ids or profile.willing_kind_ids) and not (
            post.kind.category_id in profile.willing_category_ids
            or post.kind_id in profile.willing_kind_ids):
        return False
    for s in sessions:
        local = clock.to_local(s.starts_at)
        if s.places_left > 0 and (local.weekday(), slot_of(local.time())) in profile.availability:
            return True
    return False


def find_posts(member, filters: Filters = Filters(), page: int = 1, per_page: int = 20) -> Page:
    """Published posts a member may claim, with sessions ahead: their own community first, then
    the rest of their street, then posts of other streets open to all; soonest first."""
    now = clock.now()
    street = member.community.street
    street_ids = subtree_ids(street, OrgKind.COMMUNITY) if street is not None else select(
        OrgNode.id).where(OrgNode.id == member.community_id)
    proximity = case((Post.community_id == member.community_id, 0),
                     (Post.community_id.in_(street_ids), 1), else_=2)
    next_start = (select(func.min(PostSession.starts_at))
                  .where(PostSession.post_id == Post.id, _upcoming(now)).scalar_subquery())
    stmt = (select(Post.id, proximity.label("proximity"))
            .where(Post.status == PostStatus.PUBLISHED.value,
                   or_(Post.community_id.in_(street_ids), Post.open_to_all.is_(True)),
                   or_(Post.claim_deadline.is_(None), Post.claim_deadline > now),
                   exists().where(PostSession.post_id == Post.id, _upcoming(now))))
    if filters.scope == "community":
        stmt = stmt.where(Post.community_id == member.community_id)
    elif filters.scope == "street":
        stmt = stmt.where(Post.community_id.in_(street_ids))
    order = (next_start, Post.id) if filters.sort == "start" else (proximity, next_start, Post.id)
    stmt = _filtered(stmt, filters, now).order_by(*order)
    page = max(page, 1)
    if filters.fits:
        from timebank.members.queries import current_profile

        rows = db.session.execute(stmt).all()
        ids = [r.id for r in rows]
        posts = {p.id: p for p in db.session.execute(select(Post).where(Post.id.in_(ids))
                                                     ).unique().scalars()}
        sessions = _sessions_by_post(ids, now)
        skills = skills_by_post(ids)
        profile = current_profile(member)
        rows = [r for r in rows if fits(profile, posts[r.id], skills.get(r.id, set()),
                                        sessions.get(r.id, []))]
        total = len(rows)
        rows = rows[(page - 1) * per_page: page * per_page]
    else:
        total = db.session.execute(select(func.count()).select_from(
            stmt.order_by(None).subquery())).scalar_one()
        rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
        sessions = None
    ids = [r.id for r in rows]
    posts = {p.id: p for p in db.session.execute(select(Post).where(Post.id.in_(ids))
                                                 ).unique().scalars()}
    if sessions is None:
        sessions = _sessions_by_post(ids, now)
    claimed = claimed_session_ids(member, ids)
    cards = [PostCard(posts[r.id], sessions.get(r.id, []), r.proximity, claimed)
             for r in rows]
    return Page(cards, page, per_page, total)


def claimed_session_ids(member, post_ids: Sequence[int]) -> set[int]:
    if not post_ids or member is None:
        return set()
    return set(db.session.execute(select(Claim.session_id).where(
        Claim.member_id == member.id, Claim.post_id.in_(post_ids),
        Claim.status == ClaimStatus.ACTIVE.value)).scalars())


def waiting_session_ids(member, post_id: int) -> set[int]:
    if member is None:
        return set()
    return set(db.session.execute(select(WaitlistEntry.session_id).join(PostSession).where(
        WaitlistEntry.member_id == member.id, PostSession.post_id == post_id,
        WaitlistEntry.status == WaitStatus.WAITING.value)).scalars())


def session_list(post: Post, coming_first: bool = False) -> list[PostSession]:
    """A post's sessions by start time; with ``coming_first`` (the pages), the sessions not yet
    ended come first, soonest first, then the ended ones, latest first."""
    rows = list(db.session.execute(select(PostSession).where(PostSession.post_id == post.id)
                                   .order_by(PostSession.starts_at, PostSession.id)).scalars())
    if not coming_first:
        return rows
    now = clock.now()
    return [s for s in rows if s.ends_at > now] + [s for s in reversed(rows) if s.ends_at <= now]


# --- staff -------------------------------------------------------------------------------------


def scope_community_ids(user):
    """Communities the user manages, as an IN-able select (empty for non-staff)."""
    roots = user.scope_roots()
    if not roots:
        return select(OrgNode.id).where(OrgNode.id.is_(None))
    conds = [OrgNode.path.like(f"{r.path}%") for r in roots]
    return select(OrgNode.id).where(OrgNode.kind == OrgKind.COMMUNITY.value, or_(*conds))


def managed_communities(user) -> list[OrgNode]:
    return list(db.session.execute(select(OrgNode).where(
        OrgNode.id.in_(scope_community_ids(user)), OrgNode.active.is_(True))
        .order_by(OrgNode.path)).scalars())


def managed_posts(user, status: str | None = None, page: int = 1, per_page: int = 50):
    stmt = select(Post).where(Post.community_id.in_(scope_community_ids(user)))
    if status:
        stmt = stmt.where(Post.status == status)
    stmt = stmt.order_by(Post.created_at.desc(), Post.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def session_stats(post_ids: Sequence[int]) -> dict[int, tuple[int, int, dt.datetime | None]]:
    """post id -> (places claimed over all sessions, places offered, next start)."""
    now = clock.now()
    out = {}
    if post_ids:
        rows = db.session.execute(
            select(PostSession.post_id, func.sum(PostSession.claimed),
                   func.sum(PostSession.capacity),
                   func.min(case((PostSession.starts_at > now, PostSession.starts_at))))
            .where(PostSession.post_id.in_(post_ids), PostSession.cancelled.is_(False))
            .group_by(PostSession.post_id)).all()
        out = {r[0]: (int(r[1] or 0), int(r[2] or 0), r[3]) for r in rows}
    return out


def checkin_sessions(user, now: dt.datetime, limit: int = 50) -> list[PostSession]:
    """Sessions of the communities ``user`` manages whose check-in is open now (from
    ``CHECKIN_OPENS`` before the start to the QR code's grace after the end), soonest first: what
    staff pick from on the scanner page."""
    from timebank.posts.operations.common import CHECKIN_OPENS
    from timebank.posts.qr import GRACE

    return list(db.session.execute(
        select(PostSession).join(Post, Post.id == PostSession.post_id)
        .where(Post.community_id.in_(scope_community_ids(user)),
               Post.status.in_((PostStatus.PUBLISHED.value, PostStatus.CLOSED.value)),
               PostSession.cancelled.is_(False),
               PostSession.starts_at <= now + CHECKIN_OPENS, PostSession.ends_at >= now - GRACE)
        .options(joinedload(PostSession.post))
        .order_by(PostSession.starts_at, PostSession.id).limit(limit)).scalars())


def session_claims(session: PostSession) -> list[Claim]:
    return list(db.session.execute(
        select(Claim).where(Claim.session_id == session.id,
                            Claim.status == ClaimStatus.ACTIVE.value)
        .options(joinedload(Claim.member)).order_by(Claim.created_at, Claim.id)).scalars())


def session_waitlist(session: PostSession) -> list[WaitlistEntry]:
    return list(db.session.execute(
        select(WaitlistEntry).where(WaitlistEntry.session_id == session.id,
                                    WaitlistEntry.status == WaitStatus.WAITING.value)
        .options(joinedload(WaitlistEntry.member)).order_by(WaitlistEntry.created_at, WaitlistEntry.id)).scalars())


def records_by_claim(claim_ids: Sequence[int]) -> dict[int, ServiceRecord]:
    if not claim_ids:
        return {}
    return {r.claim_id: r for r in db.session.execute(
        select(ServiceRecord).where(ServiceRecord.claim_id.in_(claim_ids))).scalars()}


def records_for_review(user, status: str = RecordStatus.PENDING.value, flagged: bool | None = None,
                       page: int = 1, per_page: int = 50):
    stmt = (select(ServiceRecord)
            .where(ServiceRecord.community_id.in_(scope_community_ids(user)),
                   ServiceRecord.status == status)
            .options(joinedload(ServiceRecord.post), joinedload(ServiceRecord.member)))
    order = [ServiceRecord.started_at, ServiceRecord.id]
    if status != RecordStatus.PENDING:
        order = [ServiceRecord.reviewed_at.desc(), ServiceRecord.id.desc()]
    stmt = stmt.order_by(*order)
    if flagged is not None:
        # JSON lists: "[]" when clean. Filtered in Python below would break paging, so compare
        # the stored text, which both databases render the same for an empty list.
        from sqlalchemy import String, cast

        empty = cast(ServiceRecord.flags, String).in_(["[]", "[ ]"])
        stmt = stmt.where(~empty if flagged else empty)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


# --- a member's claims and card ---------------------------------------------------------------


def my_claims(member, upcoming: bool, limit: int = 100) -> list[Claim]:
    now = clock.now()
    stmt = (select(Claim).join(PostSession, PostSession.id == Claim.session_id)
            .where(Claim.member_id == member.id)
            .options(joinedload(Claim.session).joinedload(PostSession.post)))
    if upcoming:
        stmt = stmt.where(Claim.status == ClaimStatus.ACTIVE.value,
                          PostSession.ends_at > now).order_by(PostSession.starts_at)
    else:
        stmt = stmt.where(or_(PostSession.ends_at <= now,
                              Claim.status != ClaimStatus.ACTIVE.value)
                          ).order_by(PostSession.starts_at.desc())
    return list(db.session.execute(stmt.limit(limit)).scalars())


def my_waiting(member) -> list[WaitlistEntry]:
    now = clock.now()
    return list(db.session.execute(
        select(WaitlistEntry).join(PostSession).where(
            WaitlistEntry.member_id == member.id,
            WaitlistEntry.status == WaitStatus.WAITING.value, PostSession.starts_at > now)
        .options(joinedload(WaitlistEntry.session).joinedload(PostSession.post))
        .order_by(PostSession.starts_at)).scalars())


@dataclasses.dataclass
class CardRow:
    started_at: dt.datetime
    ended_at: dt.datetime
    title: str
    kind: str
    community: str
    place: str
    #: What happened: claimed (upcoming), attended, no-show, withdrawn, cancelled, reported.
    status: str
    record_status: str | None
    minutes: int  # credited (verified) or to be credited (pending)


@dataclasses.dataclass
class Card:
    member: object
    rows: list[CardRow]
    verified_minutes: int
    pending_minutes: int
    sessions_attended: int
    balance_minutes: int | None
    service_minutes: int | None
    #: historical hours (历史结转时长, all years), shown as their own line when not zero.
    historical_minutes: int = 0


def card(member, year: int | None = None) -> Card:
    """The activity registration card (活动登记卡): every session claimed or served and every
    reported service, newest first, with verified and pending minutes."""
    from timebank.posts.models import ATTENDANCE_LABELS, CLAIM_STATUS_LABELS, RECORD_STATUS_LABELS

    claims = db.session.execute(
        select(Claim).where(Claim.member_id == member.id)
        .options(joinedload(Claim.session).joinedload(PostSession.post))).scalars().all()
    records = db.session.execute(
        select(ServiceRecord).where(ServiceRecord.member_id == member.id)).scalars().all()
    by_claim = {r.claim_id: r for r in records if r.claim_id is not None}
    rows: list[CardRow] = []
    for c in claims:
        s, p = c.session, c.session.post
        record = by_claim.get(c.id)
        if c.attendance:
            status = str(ATTENDANCE_LABELS[c.attendance_enum])
        else:
            status = str(CLAIM_STATUS_LABELS[c.status_enum])
        rows.append(CardRow(
            s.starts_at, s.ends_at, p.title, p.kind.display_name, p.community.name, p.place,
            status, str(RECORD_STATUS_LABELS[record.status_enum]) if record else None,
            record.minutes if record else 0))
    from flask_babel import gettext as _

    for r in records:
        if r.claim_id is None:
            rows.append(CardRow(
                r.started_at, r.ended_at, r.description[:60],
                r.kind.display_name if r.kind else "", r.community.name, "", _("Reported"),
                str(RECORD_STATUS_LABELS[r.status_enum]), r.minutes))
    if year is not None:
        start, end = clock.local_year_bounds(year)
        rows = [r for r in rows if start <= r.started_at < end]
        records = [r for r in records if start <= r.started_at < end]
    rows.sort(key=lambda r: r.started_at, reverse=True)
    # Verified hours are the measure (timebank.measures, through core.figures: verified,
    # un-reversed records by the day served), for the year or for all years.
    from timebank.core import figures as measures

    period = None
    if year is not None:
        start, end = clock.local_year_bounds(year)
        period = measures.Period(start, end)
    verified = measures.value("verified_service_minutes", member=member, period=period)
    pending = sum(r.minutes for r in records if r.status == RecordStatus.PENDING)
    attended = sum(1 for c in claims if c.attendance == "attended"
                   and (year is None or clock.to_local(c.session.starts_at).year == year))
    from timebank.ledger.queries import member_figures

    figures = member_figures(member)
    balance = figures.balance_minutes
    service = measures.value("verified_service_minutes", member=member)
    historical = measures.value("historical_minutes", member=member)
    return Card(member, rows, verified, pending, attended, balance, service, historical)
