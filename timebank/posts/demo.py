"""Demo data for posts: every community publishes posts of varied kinds; past sessions have
claims, check-ins, no-shows and verified hours (deposited through the ledger), coming sessions
have places left, a few records wait for verification, one is flagged.

Past activity is written with the clock frozen at the moment it happened, through the same
operations the pages use, so the demo data obeys every rule the real data does.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.posts import operations, qr
from timebank.posts.errors import AlreadyClaimed, MonthlyLimitReached, PostFull, TimeConflict
from timebank.catalogue.models import PostKind
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

WEEKS_BACK = 5
WEEKS_AHEAD = 4


def _members_by_street(ctx) -> dict[int, list]:
    out: dict[int, list] = {}
    for m in ctx.members:
        if m.is_approved:
            out.setdefault(m.community.street.id, []).append(m)
    return out


def seed(ctx) -> None:
    from timebank.members.models import Skill

    rng = ctx.rng
    now = clock.now()
    today = clock.today()
    kinds = list(db.session.execute(select(PostKind).where(PostKind.community_id.is_(None))
                                    .order_by(PostKind.id)).scalars())
    skills = {s.code: s for s in db.session.execute(select(Skill)).scalars()}
    by_street = _members_by_street(ctx)
    demo_member = ctx.members[0]
    first_day = today - dt.timedelta(weeks=WEEKS_BACK)
    last_day = today + dt.timedelta(weeks=WEEKS_AHEAD)
    posts = []
    for ci, community in enumerate(ctx.communities):
        staff = ctx.staff[community.id]
        for pi in range(4):
            kind = kinds[(ci * 4 + pi * 7) % len(kinds)] if pi else rng.choice(kinds)
            start, end = rng.choice(TIMES)
            skill = skills.get(KIND_SKILLS.get(kind.name, ""))
            data = operations.PostData(
                kind=kind, title=f"{rng.choice(PREFIXES)}·{kind.name}",
                description=f"{community.name}{kind.name}志愿服务，欢迎在职党员认领，亮身份、作表率。",
                place=rng.choice(PLACES), skill_ids=[skill.id] if skill and rng.random() < 0.6
                else [], capacity=rng.choice((3, 4, 5, 6, 8)),
                open_to_all=(pi == 3 and ci % 3 == 0),
                schedule=Schedule("weekly", start, end, first_day=first_day, last_day=last_day,
                                  weekdays=(rng.choice((1, 3, 5, 6)),)))
            # Published six weeks ago, so its first sessions are now in the past.
            with clock.freeze(now - dt.timedelta(weeks=WEEKS_BACK + 1)):
                post = operations.create_post(staff, community, data)
                operations.publish(staff, post)
            posts.append((post, staff))
    records = []
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}

    def free(m, session) -> bool:
        # Members do not serve in two places at once (overlaps would be flagged for review).
        return all(e <= session.starts_at or s >= session.ends_at for s, e in busy.get(m.id, ()))

    for post, staff in posts:
        street_members = by_street.get(post.community.street.id, [])
        for session in list(post.sessions):
            past = session.ends_at < now
            share = rng.uniform(0.5, 1.0) if past else rng.uniform(0.1, 0.6)
            candidates = [m for m in street_members if free(m, session)]
            want = min(len(candidates), round(session.capacity * share))
            claimants = rng.sample(candidates, k=want)
            if post.community_id == demo_member.community_id and rng.random() < 0.5 \
                    and demo_member not in claimants and free(demo_member, session):
                claimants.append(demo_member)
            claim_at = min(session.starts_at - dt.timedelta(days=rng.randint(1, 6)),
                           now - dt.timedelta(minutes=5))
            claims = []
            with clock.freeze(claim_at):
                for m in claimants:
                    try:
                        claims += operations.claim(m.user, m, post, session=session).claims
                    except (PostFull, AlreadyClaimed, MonthlyLimitReached, TimeConflict):
                        continue
                    busy.setdefault(m.id, []).append((session.starts_at, session.ends_at))
            if past:
                records += _attend(rng, session, claims)
    db.session.flush()
    _verify(rng, records, now)
    _extras(ctx, kinds, now, today)
    db.session.flush()


def _attend(rng, session, claims) -> list:
    """Check-ins and check-outs by QR (a few far from the start), then the no-show job."""
    token = qr.token_for(session)
    made = []
    for c in claims:
        if rng.random() < 0.12:
            continue  # a no-show, marked by close_attendance below
        late = rng.randint(61, 90) if rng.random() < 0.02 else 0
        with clock.freeze(session.starts_at + dt.timedelta(minutes=rng.randint(-10, 5) + late)):
            operations.check_in(c.member.user, c.member, token)
        with clock.freeze(session.ends_at + dt.timedelta(minutes=rng.randint(-5, 10))):
            made.append(operations.check_in(c.member.user, c.member, token).record)
    operations.close_attendance(session, session.ends_at + qr.GRACE)
    return made


def _verify(rng, records, now) -> None:
    """Staff verify most records a day or two after the session; recent ones wait."""
    for record in records:
        staff_day = record.ended_at + dt.timedelta(days=rng.randint(1, 2))
        if staff_day > now or record.flags:
            continue  # recent or flagged: left in "to verify"
        reviewer = _staff_of(record)
        with clock.freeze(staff_day):
            operations.verify(reviewer, record)


def _staff_of(record):
    from timebank.accounts.models import Role, RoleAssignment

    return db.session.execute(select(RoleAssignment).where(
        RoleAssignment.org_id == record.community_id,
        RoleAssignment.role == Role.COMMUNITY_STAFF.value).limit(1)).scalar_one().user


def _extras(ctx, kinds, now, today) -> None:
    """A draft, a cancelled post, and off-platform reports waiting for verification."""
    rng = ctx.rng
    community = ctx.communities[0]
    staff = ctx.staff[community.id]
    day = today + dt.timedelta(days=10)
    draft = operations.PostData(
        kind=kinds[0], title="春节前义剪（筹备中）", place="社区党群服务中心", capacity=6,
        schedule=Schedule("dates", dt.time(9), dt.time(12), dates_text=day.isoformat()))
    operations.create_post(staff, community, draft)
    cancelled = operations.create_post(staff, community, operations.PostData(
        kind=kinds[5], title="广场消夏晚会志愿服务", place="小区广场", capacity=10,
        schedule=Schedule("dates", dt.time(19), dt.time(21),
                          dates_text=(today + dt.timedelta(days=6)).isoformat())))
    operations.publish(staff, cancelled)
    operations.cancel(staff, cancelled, "天气预报有雷雨，活动延期。")
    for m in rng.sample([m for m in ctx.members if m.is_approved], k=6):
        d = today - dt.timedelta(days=rng.randint(2, 20))
        operations.report_service(
            m.user, m, started_at=clock.local_datetime(d, dt.time(9)),
            ended_at=clock.local_datetime(d, dt.time(rng.choice((10, 11, 12)))),
            description=rng.choice(["帮助独居老人买菜、打扫卫生", "为邻居义务维修水管",
                                    "在小区门口劝导文明养犬", "陪同行动不便老人就医"]),
            kind=rng.choice(kinds))
