"""Demo data for members: the skills vocabulary, valid (by checksum) ID numbers, varied forms,
a few applications waiting for review, and units that reported to communities.

Deterministic: everything is drawn from ``ctx.rng``. The forms and the units' reports date from
the weeks after the district was set up (``ctx.founded``), before its history; the applications
waiting for review are from the last days.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from stdnum.cn import ric

from timebank.core import clock
from timebank.extensions import db
from timebank.members import identity, operations, queries
from timebank.members.models import SLOTS, Member, Skill
from timebank.catalogue import operations as catalogue
from timebank.catalogue.data import DISTRICT_CATALOGUE
from timebank.catalogue.models import PostCategory, PostKind

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅晓东海波丹宁欣怡浩然子涵雨轩梓萱思远嘉怡俊杰文博佳琪晨阳心怡")


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


#: (code, name, English name): the district's skills vocabulary.
SKILLS = [
    ("nursing", "医疗护理", "Nursing"), ("health", "健康咨询", "Health advice"),
    ("counselling", "心理咨询", "Counselling"), ("law", "法律咨询", "Legal advice"),
    ("accounting", "财务会计", "Accounting"), ("tax", "税务咨询", "Tax advice"),
    ("tutoring", "教育辅导", "Tutoring"), ("languages", "外语", "Foreign languages"),
    ("computers", "电脑维修", "Computer repair"), ("appliances", "家电维修", "Appliance repair"),
    ("plumbing", "水电维修", "Plumbing and wiring"), ("hair", "理发", "Hairdressing"),
    ("cooking", "烹饪", "Cooking"), ("driving", "驾驶", "Driving"),
    ("photo", "摄影摄像", "Photography"), ("calligraphy", "书法", "Calligraphy"),
    ("painting", "绘画", "Painting"), ("singing", "声乐", "Singing"),
    ("instruments", "器乐", "Instrumental music"), ("dance", "舞蹈", "Dance"),
    ("taichi", "太极拳", "Tai chi"), ("chess", "棋类", "Chess and go"),
    ("crafts", "手工编织", "Handicrafts"), ("writing", "文字写作", "Writing"),
    ("design", "宣传设计", "Publicity design"), ("events", "活动组织", "Event organising"),
    ("firstaid", "应急救护", "First aid"), ("fire", "消防安全", "Fire safety"),
    ("antifraud", "反诈宣传", "Anti-fraud awareness"), ("policy", "政策宣讲", "Policy briefing"),
    ("gardening", "园艺", "Gardening"), ("fitness", "体育健身", "Fitness coaching"),
]

#: What people at a kind of unit tend to be good at (unit name contains the key).
_UNIT_SKILLS = {
    "医院": ["nursing", "health", "firstaid", "counselling"],
    "保健": ["nursing", "health", "firstaid"],
    "卫生": ["health", "nursing", "firstaid"],
    "学": ["tutoring", "languages", "calligraphy", "painting", "singing"],
    "教育": ["tutoring", "languages", "writing"],
    "法院": ["law", "policy"], "检察": ["law", "antifraud"], "司法": ["law", "policy"],
    "公安": ["antifraud", "law", "driving"], "消防": ["fire", "firstaid", "driving"],
    "税务": ["tax", "accounting", "policy"], "银行": ["accounting", "antifraud", "tax"],
    "供电": ["plumbing", "appliances", "fire"], "水务": ["plumbing", "appliances"],
    "移动": ["computers", "antifraud"], "电信": ["computers", "antifraud"],
    "日报": ["writing", "photo", "design"], "图书馆": ["writing", "tutoring", "events"],
    "文化": ["singing", "dance", "instruments", "events"],
}

#: Regions (county codes valid for people born 1960-2000) the demo ID numbers come from.
_REGIONS = ["110105", "110108", "310104", "310115", "320102", "330106", "420106", "440106",
            "510107", "370102"]

#: Typical weekly availability of working people, as (weekdays, slots) patterns.
_PATTERNS = [
    (range(0, 5), ("evening",)),
    (range(5, 7), SLOTS),
    (range(5, 7), ("morning", "afternoon")),
    ((1, 3), ("evening",)),
    ((5,), ("morning",)),
    ((6,), ("afternoon", "evening")),
    ((0, 2, 4), ("evening",)),
]

_HOBBIES = ["跑步", "羽毛球", "乒乓球", "阅读", "旅行", "摄影", "书法", "钓鱼", "园艺", "唱歌",
            "广场舞", "象棋", "围棋", "烘焙", "游泳", "骑行", "登山", "京剧"]
_FREE_SKILLS = ["会开叉车", "熟悉医保报销流程", "会修自行车", "懂手语", "会剪辑短视频",
                "有心理咨询师证书", "熟悉垃圾分类政策", "会做面点", "持有急救员证"]


def demo_id_number(rng: random.Random, birth_year: int | None = None) -> str:
    """A random ID number that passes the checksum, birth date and region checks."""
    while True:
        year = birth_year or rng.randint(1962, 1998)
        birth = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        body = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number


def seed_skills() -> dict[str, Skill]:
    existing = {s.code: s for s in db.session.execute(select(Skill)).scalars()}
    for pos, (code, name, name_en) in enumerate(SKILLS, start=1):
        if code not in existing:
            existing[code] = Skill(code=code, name=name, name_en=name_en, active=True,
                                   position=pos)
            db.session.add(existing[code])
    db.session.flush()
    return existing


def seed_post_catalogue() -> None:
    """The district post catalogue, for tests and benchmarks that need its names without loading
    the whole demo district."""
    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)


def _form_for(ctx, member: Member, skills: dict[str, Skill], categories, kinds_by_cat) -> None:
    rng = ctx.rng
    unit_name = member.unit.name if member.unit else ""
    likely = [c for key, codes in _UNIT_SKILLS.items() if key in unit_name for c in codes]
    chosen = set(rng.sample(likely, k=min(len(likely), rng.randint(1, 2)))) if likely else set()
    chosen.update(rng.sample([c for c, _n, _e in SKILLS], k=rng.randint(0, 2)))
    cells = set()
    for _ in range(rng.randint(1, 2)):
        days, slots = rng.choice(_PATTERNS)
        cells.update((d, s) for d in days for s in slots)
    willing_cats = rng.sample(categories, k=rng.choice((0, 1, 1, 2)))
    willing_kinds = []
    for cat in categories:
        if cat not in willing_cats and kinds_by_cat.get(cat.id) and rng.random() < 0.5:
            willing_kinds += rng.sample(kinds_by_cat[cat.id], k=min(2, len(kinds_by_cat[cat.id])))
    operations.save_profile(
        None, member, skills=[skills[c] for c in sorted(chosen)],
        free_text_skills=rng.choice(_FREE_SKILLS) if rng.random() < 0.2 else "",
        hobbies="、".join(rng.sample(_HOBBIES, k=rng.randint(0, 3))),
        categories=willing_cats, kinds=willing_kinds, availability=cells,
        max_sessions_per_month=rng.choice((None, 2, 2, 4, 4, 6, 8)))


def seed(ctx) -> None:
    rng = ctx.rng
    skills = seed_skills()
    categories = list(db.session.execute(
        select(PostCategory).order_by(PostCategory.position)).scalars())
    kinds_by_cat: dict[int, list[PostKind]] = {}
    for kind in db.session.execute(select(PostKind).where(PostKind.community_id.is_(None))
                                   .order_by(PostKind.position)).scalars():
        kinds_by_cat.setdefault(kind.category_id, []).append(kind)

    for member in ctx.members:
        number = demo_id_number(rng)
        while queries.find_by_id_number(number) is not None:
            number = demo_id_number(rng)
        member.id_number_hmac = identity.id_number_hmac(number)
        member.id_number_ciphertext = identity.encrypt_id_number(number)
        # Most members filled in the form; some forms were revised later (history to show).
        if member is ctx.members[0] or rng.random() < 0.85:
            with clock.freeze(ctx.founded + dt.timedelta(minutes=rng.randrange(14 * 24 * 60))):
                _form_for(ctx, member, skills, categories, kinds_by_cat)
            if rng.random() < 0.15:
                with clock.freeze(ctx.founded + dt.timedelta(
                        days=15, minutes=rng.randrange(13 * 24 * 60))):
                    _form_for(ctx, member, skills, categories, kinds_by_cat)
    db.session.flush()

    # Applications waiting for review in the first community (the demo staff login's), one
    # rejected with a reason, so the review pages have something to show.
    first = ctx.communities[0]
    grids = ctx.grids[first.id]
    for i in range(8):
        phone = f"1370000{i:04d}"
        # One password hash for all demo accounts (scrypt is slow on purpose); the demo
        # password is public, so the password rules refuse it: seeding passes the hash.
        with clock.freeze(ctx.now - dt.timedelta(hours=6 + 9 * (8 - i))):
            member = operations.register_with_hash(
                phone, person_name(rng), demo_id_number(rng), ctx.password_hash, first,
                rng.choice(grids), rng.choice(ctx.units))
        if i == 0:
            with clock.freeze(ctx.now - dt.timedelta(hours=3)):
                operations.reject(ctx.staff[first.id], member,
                                  "所填网格与居住地址不符，请核对后重新提交。")

    # Dual reporting: about half of the units registered with the street of their members.
    for unit in ctx.units:
        if rng.random() < 0.5:
            continue
        liaison = ctx.liaisons[unit.id]
        targets = {m.community.street.id: m.community.street for m in ctx.members
                   if m.unit_id == unit.id and m.community.street is not None}
        with clock.freeze(ctx.founded + dt.timedelta(days=rng.randint(1, 25), hours=1)):
            for street in list(targets.values())[:2]:
                operations.report_unit(liaison, unit, street, "可提供志愿服务，联系单位联络员。")
    db.session.flush()

