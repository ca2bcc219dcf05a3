"""Demo data for the three lists: demands (with micro-wishes), resources of units and members,
and projects in every state (one with a generated post). Uses its own random stream so the
other features' demo data does not shift when this one changes."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.lists import operations
from timebank.members.models import Skill
from timebank.catalogue.models import PostCategory, PostKind

#: (title, category code, need kind, skill codes, people, urgency, micro-wish resident or "")
DEMANDS = [
    ("独居老人助浴和理发", "caring", "volunteers", ["hair", "nursing"], 2, 3, "张奶奶"),
    ("楼道照明线路检修", "convenience", "volunteers", ["plumbing"], 2, 2, ""),
    ("留守儿童暑期课业辅导", "caring", "volunteers", ["tutoring"], 4, 2, ""),
    ("老年人智能手机使用培训", "convenience", "expertise", ["computers"], 2, 1, ""),
    ("社区反诈宣传讲座", "convenience", "expertise", ["antifraud", "policy"], 1, 2, ""),
    ("重阳节文艺汇演场地", "culture", "venue", [], 1, 1, ""),
    ("困难家庭冬季慰问物资", "caring", "equipment", [], 1, 3, "李大爷"),
    ("社区义诊健康咨询", "caring", "volunteers", ["health", "nursing"], 3, 2, ""),
    ("想学写毛笔字", "culture", "volunteers", ["calligraphy"], 1, 1, "王阿姨"),
    ("小区消防安全检查", "convenience", "volunteers", ["fire", "firstaid"], 2, 3, ""),
    ("残疾人就医陪诊", "caring", "volunteers", ["driving"], 1, 2, "赵叔叔"),
    ("广场舞队编排指导", "culture", "volunteers", ["dance"], 1, 1, ""),
]

#: (unit index, kind, title, skill codes, quantity, area: "district" | "street")
UNIT_RESOURCES = [
    (1, "volunteers", "医护志愿服务队", ["nursing", "health", "firstaid"], 8, "district"),
    (3, "volunteers", "教师志愿辅导团", ["tutoring", "languages"], 6, "street"),
    (5, "expertise", "税务政策宣讲", ["tax", "policy"], 2, "district"),
    (7, "expertise", "法官进社区普法", ["law", "policy"], 2, "district"),
    (9, "volunteers", "民警反诈宣传队", ["antifraud"], 4, "street"),
    (17, "volunteers", "电力红马甲服务队", ["plumbing", "appliances"], 5, "street"),
    (15, "venue", "图书馆多功能厅", [], 1, "district"),
    (20, "funds", "困难家庭帮扶资金", [], 20000, "district"),
    (25, "volunteers", "消防安全宣讲队", ["fire", "firstaid"], 3, "district"),
    (22, "equipment", "爱心物资（米面油）", [], 50, "street"),
]


def _skills(codes) -> list[int]:
    if not codes:
        return []
    return list(db.session.execute(select(Skill.id).where(Skill.code.in_(codes))).scalars())


def seed(ctx) -> None:
    # The matcher's demo step (which comes first) seeds the lists before its run.
    if getattr(ctx, "lists_seeded", False):
        return
    ctx.lists_seeded = True
    rng = random.Random(20261121 + 6)
    today = clock.today()
    categories = {c.code: c for c in db.session.execute(select(PostCategory)).scalars()}
    home = ctx.communities[0]

    demands = []
    for i, (title, cat, kind, skills, people, urgency, resident) in enumerate(DEMANDS):
        community = home if i < 5 else rng.choice(ctx.communities)
        start = today + dt.timedelta(days=rng.randint(2, 10))
        demands.append(operations.create_demand(ctx.staff[community.id], operations.DemandData(
            community=community, grid=rng.choice(ctx.grids[community.id])
            if rng.random() < 0.5 else None, category=categories[cat], title=title,
            need_kind=kind, skill_ids=_skills(skills), people_needed=people,
            minutes_needed=people * 120 if kind == "volunteers" else None,
            window_start=start, window_end=start + dt.timedelta(days=rng.choice([7, 14, 30])),
            urgency=urgency, deadline=start + dt.timedelta(days=3), is_wish=bool(resident),
            resident_name=resident,
            description="由社区工作者代居民登记。" if resident else "")))

    resources = []
    for unit_index, kind, title, skills, quantity, area in UNIT_RESOURCES:
        unit = ctx.units[unit_index % len(ctx.units)]
        resources.append(operations.create_resource(ctx.liaisons[unit.id], operations.ResourceData(
            kind=kind, title=title, skill_ids=_skills(skills), quantity=quantity,
            area=ctx.district if area == "district" else rng.choice(ctx.streets),
            available_from=today, available_until=today + dt.timedelta(days=90)), unit=unit))
    for member in ctx.members[:6]:
        resources.append(operations.create_resource(None, operations.ResourceData(
            kind="volunteers", title=f"{member.name}的周末志愿时间",
            skill_ids=_skills(rng.sample(["tutoring", "computers", "photo", "cooking",
                                          "calligraphy", "driving"], 2)),
            quantity=1, area=member.community), member=member))

    # An open project already claimed by a unit; one in progress with notes and a post; one
    # completed. The rest of the demands stay open for the matcher's demo run.
    open_project = operations.create_project(
        ctx.staff[home.id], home, "楼道照明改造", demands=[demands[1]],
        category=categories["convenience"], resources=[resources[5]])
    unit = resources[5].unit
    operations.claim_project(ctx.liaisons[unit.id], open_project, unit=unit)

    running = operations.create_project(
        ctx.staff[home.id], home, "暑期课业辅导班", category=categories["caring"],
        description="每周六上午在社区活动室为留守儿童辅导作业。", demands=[demands[2]],
        resources=[resources[1]])
    operations.claim_project(ctx.liaisons[resources[1].unit.id], running,
                             unit=resources[1].unit)
    operations.claim_project(ctx.members[0].user, running, member=ctx.members[0])
    operations.start_project(ctx.staff[home.id], running)
    operations.add_note(ctx.liaisons[resources[1].unit.id], running, "已安排六名教师轮流授课。")
    operations.add_note(ctx.staff[home.id], running, "活动室已预约，首次辅导 18 名儿童参加。")
    _project_post(ctx, running, home)

    done = operations.create_project(
        ctx.staff[home.id], home, "社区反诈宣传讲座", category=categories["convenience"],
        demands=[demands[4]], resources=[resources[4]])
    operations.claim_project(ctx.liaisons[resources[4].unit.id], done, unit=resources[4].unit)
    operations.start_project(ctx.staff[home.id], done)
    operations.complete_project(ctx.staff[home.id], done, "两场讲座，约 120 名居民参加。")
    db.session.flush()


def _project_post(ctx, project, community) -> None:
    from timebank.posts import operations as posts
    from timebank.posts.schedule import Schedule

    kind = db.session.execute(select(PostKind).where(PostKind.code == "caring-06")
                              ).scalar_one_or_none()
    if kind is None:
        return
    first = clock.today() + dt.timedelta(days=1)
    while first.weekday() != 5:
        first += dt.timedelta(days=1)
    operations.generate_post(ctx.staff[community.id], project, posts.PostData(
        kind=kind, title="暑期课业辅导志愿者", place="社区活动室", capacity=4,
        schedule=Schedule("weekly", dt.time(9), dt.time(11), first_day=first,
                          last_day=first + dt.timedelta(days=21), weekdays=(5,))))
