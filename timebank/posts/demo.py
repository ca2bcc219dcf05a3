"""Demo data for posts: the district's history of service, and what is coming.

Every community runs weekly posts in two-month seasons over the demo's history
(``ctx.periods``): members claim sessions a few days ahead, check in and out by the session's QR
code (or do not come), the no-show job closes each session, staff verify the records a day or
two later (which deposits the hours) and look at flagged ones one by one; now and then a record
is rejected or a verification withdrawn. The reminder and closing jobs run as the scheduler
would. The season under way runs a few weeks past today, so coming sessions have places left;
the latest records and the members' own reports wait for verification. In older stretches
staff took attendance by roll call at the end of each session instead of the QR scans.

All of it goes on ``ctx.history`` and so is written in time order, through the same operations
and job bodies the pages and the scheduler use, with the clock frozen at the time it happened.
Fewer posts in older seasons keep seeding quick.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from timebank.catalogue.models import PostKind
from timebank.core import clock
from timebank.extensions import db
from timebank.members.models import Skill
from timebank.posts import operations, qr, tasks
from timebank.posts.errors import AlreadyClaimed, MonthlyLimitReached, PostFull, TimeConflict
from timebank.posts.models import Claim, RecordStatus, ServiceRecord
from timebank.posts.schedule import Schedule

#: Kind name -> skill code required (members' skills vocabulary) for posts of that kind.
KIND_SKILLS = {
    "理发义剪": "hair", "家电维修": "appliances", "法律咨询": "law", "健康义诊": "health",
    "反诈宣传": "antifraud", "政策宣讲": "policy", "课业辅导": "tutoring",
    "心理疏导": "counselling", "书法教学": "calligraphy", "绘画辅导": "painting",
    "合唱指导": "singing", "太极拳教学": "taichi", "棋类活动": "chess", "摄影记录": "photo",
    "手工编织": "crafts", "助医陪诊": "nursing",
}
PREFIXES = ["党员先锋", "周末", "暖心", "红色领航", "邻里守望", "亮身份"]
PLACES = ["社区党群服务中心", "社区活动室", "小区广场", "社区卫生服务站", "老年活动中心",
          "社区图书室", "居委会会议室"]
TIMES = [(dt.time(9), dt.time(11)), (dt.time(14), dt.time(16, 30)), (dt.time(19), dt.time(21)),
         (dt.time(8, 30), dt.time(10)), (dt.time(15), dt.time(17))]

WEEKS_AHEAD = 4
#: Posts each community runs in the season under way, in the earlier seasons of the latest
#: stretch of history, and in older stretches (last year's).
POSTS_NOW, POSTS_EARLIER, POSTS_OLDER = 4, 2, 1
NO_SHOW = 0.12
LATE = 0.02
#: Share of records staff reject instead of verifying; one verification in REVOKE_EVERY is
#: withdrawn later.
REJECT, REVOKE_EVERY = 0.006, 500
REJECT_REASONS = ["签到后提前离开，未完成服务。", "当天服务内容与岗位不符，请与社区联系。"]
REVOKE_REASON = "经核对，该次服务与其他记录重复登记，撤销认证并退回时长。"


@dataclasses.dataclass(frozen=True)
class Season:
    first_day: dt.date
    last_day: dt.date
    #: Posts per community.
    posts: int
    #: Attendance taken by staff at the end (a roll call) instead of members' QR scans.
    roll_call: bool = False


def _month_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def seasons(periods, today: dt.date) -> list[Season]:
    """Each stretch of history cut into two-month seasons; the season under way (the last)
    runs ``WEEKS_AHEAD`` weeks past today."""
    out = []
    for n, (first, last) in enumerate(periods):
        latest = n == len(periods) - 1
        day = first
        while day <= last:
            following = _month_after(day, 2)
            end = min(following - dt.timedelta(days=1), last)
            if latest and end >= last:
                out.append(Season(day, today + dt.timedelta(weeks=WEEKS_AHEAD), POSTS_NOW))
            else:
                out.append(Season(day, end, POSTS_EARLIER if latest else POSTS_OLDER,
                                  roll_call=not latest))
            day = following
    return out


class _History:
    """What the posts' past events share while the timeline runs."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
        self.job_times: set[tuple[str, dt.datetime]] = set()
        self.verified = 0
        self.by_street: dict[int, list] = {}
        self.skills = {s.code: s for s in db.session.execute(select(Skill)).scalars()}
        for m in ctx.members:
            if m.is_approved:
                self.by_street.setdefault(m.community.street.id, []).append(m)

    def free(self, member, session) -> bool:
        # Members do not serve in two places at once (overlaps would be flagged for review).
        return all(e <= session.starts_at or s >= session.ends_at
                   for s, e in self.busy.get(member.id, ()))

    def job(self, when: dt.datetime, body) -> None:
        """A scheduled job's run (once per time, however many sessions ask for it)."""
        key = (body.__name__, when)
        if key not in self.job_times:
            self.job_times.add(key)
            self.ctx.history.at(when, body, when)


def seed(ctx) -> None:
    kinds = list(db.session.execute(select(PostKind).where(PostKind.community_id.is_(None))
                                    .order_by(PostKind.id)).scalars())
    state = _History(ctx)
    rng = ctx.rng
    today = clock.to_local(ctx.now).date()
    for season in seasons(ctx.periods, today):
        published = clock.local_datetime(season.first_day - dt.timedelta(days=7), dt.time(10))
        for ci, community in enumerate(ctx.communities):
            for pi in range(season.posts):
                kind = kinds[(ci * 4 + pi * 7 + season.first_day.month) % len(kinds)] if pi \
                    else rng.choice(kinds)
                ctx.history.at(published + dt.timedelta(minutes=7 * ci + pi), _publish, state,
                               community, season, kind, pi == 3 and ci % 3 == 0)
    # The scheduler's daily jobs over each stretch (and the week of publishing before it).
    for first, last in ctx.periods:
        day = first - dt.timedelta(days=7)
        while day <= last:
            state.job(clock.local_datetime(day, dt.time(18)), tasks.send_reminders)
            state.job(clock.local_datetime(day, dt.time(23, 45)), tasks.close_past_deadline)
            day += dt.timedelta(days=1)
    _extras(ctx, kinds, today)


def _publish(state: _History, community, season: Season, kind, open_to_all: bool) -> None:
    rng, ctx = state.rng, state.ctx
    staff = ctx.staff[community.id]
    start, end = rng.choice(TIMES)
    skill = state.skills.get(KIND_SKILLS.get(kind.name, ""))
    data = operations.PostData(
        kind=kind, title=f"{rng.choice(PREFIXES)}·{kind.name}",
        description=f"{community.name}{kind.name}志愿服务，欢迎在职党员认领，亮身份、作表率。",
        place=rng.choice(PLACES),
        skill_ids=[skill.id] if skill and rng.random() < 0.6 else [],
        capacity=rng.choice((3, 4, 5, 6, 8)), open_to_all=open_to_all,
        schedule=Schedule("weekly", start, end, first_day=season.first_day,
                          last_day=season.last_day, weekdays=(rng.choice((1, 3, 5, 6)),)))
    post = operations.create_post(staff, community, data)
    operations.publish(staff, post)
    now = clock.now()
    for session in post.sessions:
        # Members claim a few days ahead; for sessions still to come, in the last days.
        claim_at = session.starts_at - dt.timedelta(days=rng.randint(1, 6),
                                                    minutes=rng.randrange(600))
        claim_at = max(now + dt.timedelta(hours=1), min(claim_at, ctx.now - dt.timedelta(
            minutes=rng.randint(5, 3000))))
        ctx.history.at(claim_at, _claim, state, post, session, season.roll_call)


def _claim(state: _History, post, session, roll_call: bool) -> None:
    rng, ctx = state.rng, state.ctx
    demo_member = ctx.members[0]
    past = session.starts_at < ctx.now
    share = rng.uniform(0.5, 1.0) if past else rng.uniform(0.1, 0.6)
    candidates = [m for m in state.by_street.get(post.community.street.id, [])
                  if state.free(m, session)]
    claimants = rng.sample(candidates, k=min(len(candidates), round(session.capacity * share)))
    if post.community_id == demo_member.community_id and rng.random() < 0.5 \
            and demo_member not in claimants and state.free(demo_member, session):
        claimants.append(demo_member)
    token = qr.token_for(session)
    present, absent = [], []
    for m in claimants:
        try:
            claims = operations.claim(m.user, m, post, session=session).claims
        except (PostFull, AlreadyClaimed, MonthlyLimitReached, TimeConflict):
            continue
        state.busy.setdefault(m.id, []).append((session.starts_at, session.ends_at))
        if rng.random() < NO_SHOW:
            absent.append(claims[0].id)  # a no-show
            continue
        present.append(claims[0].id)
        if roll_call:
            continue
        late = rng.randint(61, 90) if rng.random() < LATE else 0
        ctx.history.at(session.starts_at + dt.timedelta(minutes=rng.randint(-10, 5) + late),
                       _scan, m, token)
        ctx.history.at(session.ends_at + dt.timedelta(minutes=rng.randint(-5, 10)),
                       _scan, m, token)
    if roll_call:
        ctx.history.at(session.ends_at + dt.timedelta(minutes=rng.randint(5, 30)), _roll_call,
                       ctx.staff[post.community_id], session, present, absent)
    else:
        # The no-show job runs five minutes past each hour.
        closes = session.ends_at + qr.GRACE - dt.timedelta(minutes=5)
        state.job(closes.replace(minute=5, second=0, microsecond=0) + dt.timedelta(hours=1),
                  tasks.mark_no_shows)
    # Staff verify a day or two after the session, during office hours.
    day = clock.to_local(session.ends_at).date() + dt.timedelta(days=rng.randint(1, 2))
    ctx.history.at(clock.local_datetime(day, dt.time(9, 30)) + dt.timedelta(
        minutes=rng.randrange(7 * 60)), _review, state, session)


def _roll_call(staff, session, present: list[int], absent: list[int]) -> None:
    """Staff mark who came (each gets a record for the session) and who did not."""
    if present:
        operations.mark_attendance(staff, session, present, True)
    if absent:
        operations.mark_attendance(staff, session, absent, False)


def _scan(member, token: str) -> None:
    """The member's scan of the session's code: the first checks in, the second out."""
    operations.check_in(member.user, member, token)


def _pending(session) -> list[ServiceRecord]:
    return list(db.session.execute(
        select(ServiceRecord).join(Claim, Claim.id == ServiceRecord.claim_id)
        .where(Claim.session_id == session.id,
               ServiceRecord.status == RecordStatus.PENDING.value)
        .order_by(ServiceRecord.id)).scalars())


def _review(state: _History, session) -> None:
    """Staff verify the session's records in one go; a flagged one is looked at on its own a
    few days later; now and then one is not accepted."""
    rng, ctx = state.rng, state.ctx
    reviewer = ctx.staff[session.post.community_id]
    records = _pending(session)
    accepted = []
    for record in records:
        if not record.flags and rng.random() < REJECT:
            operations.reject(reviewer, record, rng.choice(REJECT_REASONS))
        else:
            accepted.append(record)
    if accepted:
        operations.verify_many(reviewer, accepted)
    for record in accepted:
        if record.flags:
            ctx.history.at(clock.now() + dt.timedelta(days=rng.randint(3, 6)), _review_flagged,
                           reviewer, record)
            continue
        state.verified += 1
        if state.verified % REVOKE_EVERY == REVOKE_EVERY // 2:
            ctx.history.at(clock.now() + dt.timedelta(days=rng.randint(5, 20)), _revoke,
                           reviewer, record)


def _review_flagged(reviewer, record) -> None:
    if record.status == RecordStatus.PENDING:
        operations.verify(reviewer, record, acknowledge_flags=True)


def _revoke(reviewer, record) -> None:
    from timebank.ledger import queries as ledger

    # Refused once the member has spent the hours; staff then leave it.
    if ledger.member_figures(record.member).balance_minutes >= record.minutes:
        operations.revoke(reviewer, record, REVOKE_REASON)


def _extras(ctx, kinds, today) -> None:
    """A draft, a post cancelled after members claimed it, and members' own reports of
    off-platform service: older ones verified, the latest waiting."""
    rng = ctx.rng
    community = ctx.communities[0]
    staff = ctx.staff[community.id]
    day = today + dt.timedelta(days=10)
    draft = operations.PostData(
        kind=kinds[0], title="春节前义剪（筹备中）", place="社区党群服务中心", capacity=6,
        schedule=Schedule("dates", dt.time(9), dt.time(12), dates_text=day.isoformat()))
    ctx.history.at(ctx.now - dt.timedelta(hours=2), operations.create_post, staff, community,
                   draft)
    ctx.history.at(ctx.now - dt.timedelta(days=3), _cancelled_post, ctx, kinds[5], today)
    approved = [m for m in ctx.members if m.is_approved]
    reporters = [m for m in approved if m.community_id == community.id][:3]
    reporters += rng.sample([m for m in approved if m not in reporters], k=7)
    for i, m in enumerate(reporters):
        # The first waits in the demo staff's list; the rest spread over the last 70 days.
        d = today - dt.timedelta(days=2 if i == 0 else rng.randint(2, 70))
        ended = clock.local_datetime(d, dt.time(rng.choice((10, 11, 12))))
        ctx.history.at(ended + dt.timedelta(hours=rng.randint(2, 10)), _report, ctx, m, d,
                       ended, rng.choice(kinds))


def _report(ctx, member, day, ended, kind) -> None:
    rng = ctx.rng
    record = operations.report_service(
        member.user, member, started_at=clock.local_datetime(day, dt.time(9)), ended_at=ended,
        description=rng.choice(["帮助独居老人买菜、打扫卫生", "为邻居义务维修水管",
                                "在小区门口劝导文明养犬", "陪同行动不便老人就医"]),
        kind=kind)
    # Staff look at a report within about two weeks; the latest still wait.
    ctx.history.at(clock.now() + dt.timedelta(days=rng.randint(4, 14)), _review_report,
                   ctx.staff[member.community_id], record)


def _review_report(reviewer, record) -> None:
    """A report overlapping the member's recorded sessions is not accepted; others are."""
    if record.status != RecordStatus.PENDING:
        return
    if record.flags:
        operations.reject(reviewer, record, "与同一时段的岗位服务记录重叠，请核对后重新申报。")
    else:
        operations.verify(reviewer, record)


def _cancelled_post(ctx, kind, today) -> None:
    community = ctx.communities[0]
    staff = ctx.staff[community.id]
    post = operations.create_post(staff, community, operations.PostData(
        kind=kind, title="广场消夏晚会志愿服务", place="小区广场", capacity=10,
        schedule=Schedule("dates", dt.time(19), dt.time(21),
                          dates_text=(today + dt.timedelta(days=6)).isoformat())))
    operations.publish(staff, post)
    session = post.sessions[0]
    neighbours = [m for m in ctx.members[1:] if m.community_id == community.id
                  and m.is_approved][:3]
    for i, m in enumerate(neighbours):
        ctx.history.at(clock.now() + dt.timedelta(hours=3 + i), _claim_one, m, post, session)
    ctx.history.at(clock.now() + dt.timedelta(days=2), operations.cancel, staff, post,
                   "天气预报有雷雨，活动延期。")


def _claim_one(member, post, session) -> None:
    try:
        operations.claim(member.user, member, post, session=session)
    except (PostFull, AlreadyClaimed, MonthlyLimitReached, TimeConflict):
        pass
