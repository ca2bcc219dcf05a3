"""The community staff's home: the work waiting in the communities they manage.

Each count is taken from the very query (or filter) of the page it links to, so the number on
the home is the number of rows that page lists: records for verification
(``posts.queries.records_for_review``), registrations waiting for approval (the directory's
status counts), open needs (the demand list, "mine", status open), matcher proposals (the
matching page's status counts). Sessions and unfilled posts are listed here, each linking to the
page where it is handled."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from timebank.core import clock
from timebank.extensions import db
from timebank.lists import queries as lists
from timebank.lists.models import DemandStatus
from timebank.matching import queries as matching
from timebank.matching.models import ProposalStatus
from timebank.members import queries as members
from timebank.members.models import MemberStatus
from timebank.posts import queries as posts
from timebank.posts.models import Post, PostSession, PostStatus

#: Sessions listed per day, and unfilled posts listed; the totals are shown beside them.
SESSIONS_SHOWN = 20
UNFILLED_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class DaySessions:
    day: dt.date
    sessions: list[PostSession]
    #: All sessions of the day (``sessions`` holds at most ``SESSIONS_SHOWN``).
    total: int


@dataclasses.dataclass(frozen=True)
class UnfilledPost:
    post: Post
    #: Upcoming, not cancelled sessions of the post that still have places, and their places.
    sessions: int
    places_left: int


@dataclasses.dataclass
class StaffHome:
    days: list[DaySessions]
    records_pending: int
    registrations_pending: int
    open_needs: int
    unfilled: list[UnfilledPost]
    unfilled_total: int
    proposals: int


def count(stmt: Select) -> int:
    return int(db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def _day_sessions(user, day: dt.date) -> DaySessions:
    start, end = clock.local_day_bounds(day)
    stmt = (select(PostSession).join(Post, Post.id == PostSession.post_id)
            .where(Post.community_id.in_(posts.scope_community_ids(user)),
                   Post.status.in_((PostStatus.PUBLISHED.value, PostStatus.CLOSED.value)),
                   PostSession.cancelled.is_(False),
                   PostSession.starts_at >= start, PostSession.starts_at < end))
    shown = list(db.session.execute(
        stmt.options(joinedload(PostSession.post).joinedload(Post.community))
        .order_by(PostSession.starts_at, PostSession.id).limit(SESSIONS_SHOWN)).scalars())
    return DaySessions(day, shown, count(stmt))


def unfilled_posts(user, limit: int = UNFILLED_SHOWN) -> tuple[list[UnfilledPost], int]:
    """Published posts with an upcoming, not cancelled session that still has places (the
    dashboard's "posts with places left"), soonest first; and how many there are."""
    now = clock.now()
    # Grouped over the sessions alone, then joined to the posts: a post row carries its eager
    # loads (kind, category), which PostgreSQL will not group by the post's id.
    short = (select(PostSession.post_id.label("post_id"),
                    func.count(PostSession.id).label("sessions"),
                    func.sum(PostSession.capacity - PostSession.claimed).label("places"),
                    func.min(PostSession.starts_at).label("next"))
             .where(PostSession.starts_at > now, PostSession.cancelled.is_(False),
                    PostSession.claimed < PostSession.capacity)
             .group_by(PostSession.post_id).subquery())
    stmt = (select(Post, short.c.sessions, short.c.places)
            .join(short, short.c.post_id == Post.id)
            .where(Post.community_id.in_(posts.scope_community_ids(user)),
                   Post.status == PostStatus.PUBLISHED.value))
    rows = db.session.execute(stmt.order_by(short.c.next, Post.id).limit(limit)).all()
    total = count(stmt)
    return [UnfilledPost(p, int(n), int(left or 0)) for p, n, left in rows], total


def open_needs_filter() -> lists.ListFilter:
    """The demand list's filter for "my communities' needs awaiting a match"."""
    return lists.ListFilter(status=DemandStatus.OPEN.value, mine=True)


def staff_home(user) -> StaffHome:
    today = clock.today()
    unfilled, unfilled_total = unfilled_posts(user)
    return StaffHome(
        days=[_day_sessions(user, today), _day_sessions(user, today + dt.timedelta(days=1))],
        records_pending=posts.records_for_review(user, page=1, per_page=1).total or 0,
        registrations_pending=members.status_counts(user).get(MemberStatus.PENDING.value, 0),
        open_needs=count(lists.demands(user, open_needs_filter())),
        unfilled=unfilled, unfilled_total=unfilled_total,
        proposals=matching.counts(user).get(ProposalStatus.PROPOSED.value, 0))
