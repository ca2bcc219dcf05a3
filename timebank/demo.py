"""Deterministic demo district (``timebank seed-demo``).

The same seed always gives the same district, so screenshots, docs and bug reports line up.
Feature packages extend it with ``timebank/<feature>/demo.py`` exposing ``seed(ctx)``; they run
in the order of ``FEATURE_STEPS`` after the organisations and people below.

The district has a past: it was set up (organisations, accounts, members) a month before its
history starts, and everything that happened since is written through the real operations and
the real job bodies with the clock frozen at the time it happened. Steps put that past on
``ctx.history`` (a :class:`Timeline`), which runs once every step has scheduled its part, in
time order: hours are deposited when staff verified a session, spent only after they were
earned, counted by the monthly cards and the rankings when those were made. Nothing in the
ledger is written without the service record behind it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import importlib
import itertools
import random
from collections.abc import Callable

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from timebank.accounts import operations as accounts
from timebank.accounts import passwords
from timebank.accounts.models import Role, User
from timebank.catalogue import operations as catalogue
from timebank.catalogue.data import DISTRICT_CATALOGUE
from timebank.core import clock
from timebank.extensions import db
from timebank.members import operations as members
from timebank.members.demo import person_name
from timebank.members.models import Member
from timebank.orgs import operations as orgs
from timebank.orgs.models import OrgKind, OrgNode

DEMO_PASSWORD = passwords.DEMO_PASSWORD
SEED = 20261121

#: Feature packages that add demo data, in dependency order (the time bank's spending after the
#: posts that earn the hours; the cards and the award lists after both).
FEATURE_STEPS = ("members", "posts", "ledger", "reports", "recognition", "matching", "lists",
                 "units", "exchange", "teams")

DEMO_LOGINS = [
    ("13800000001", Role.DISTRICT_ADMIN),
    ("13800000002", Role.STREET_ADMIN),
    ("13800000003", Role.COMMUNITY_STAFF),
    ("13800000004", Role.UNIT_LIAISON),
    ("13800000005", Role.MEMBER),
]

DISTRICT = ("310199", "滨河区")
STREETS = [
    ("朝阳街道", ["东风社区", "向阳社区", "春晖社区"]),
    ("新华街道", ["新华里社区", "光明社区", "和园社区"]),
    ("和平街道", ["和平门社区", "长春社区", "安康社区"]),
    ("文昌街道", ["文昌阁社区", "书院社区", "梧桐社区"]),
]
UNITS = [
    "区委组织部", "区人民医院", "区中医医院", "区第一中学", "区实验小学", "区税务局",
    "区市场监管局", "区人民法院", "区人民检察院", "区公安分局", "区教育局", "区民政局",
    "区卫生健康委", "区住房和城乡建设局", "区文化和旅游局", "区图书馆", "区妇幼保健院",
    "国网滨河供电公司", "滨河水务集团", "滨河城投集团", "工商银行滨河支行", "建设银行滨河支行",
    "中国移动滨河分公司", "中国电信滨河分公司", "滨河职业技术学院", "区消防救援大队",
    "区司法局", "区应急管理局", "区退役军人事务局", "滨河日报社",
]


class Timeline:
    """The demo's past, written in the order it happened.

    ``at(when, fn, *args)`` schedules a call; :meth:`run` makes the calls in time order (ties in
    the order scheduled) with the clock frozen at each one's time. A call may schedule later
    ones (a claim schedules its check-in), never earlier ones. Nothing is scheduled after
    ``end`` (the real now): ``at`` drops it and returns False, so what has not happened yet
    (a verification due tomorrow) is left for the people and the scheduler."""

    def __init__(self, end: dt.datetime) -> None:
        self.end = end
        self._queue: list = []
        self._order = itertools.count()
        self._current: dt.datetime | None = None

    def at(self, when: dt.datetime, fn: Callable, *args) -> bool:
        if when > self.end:
            return False
        if self._current is not None and when < self._current:
            raise ValueError(f"{fn.__name__} at {when} is before the event scheduling it")
        heapq.heappush(self._queue, (when, next(self._order), fn, args))
        return True

    def run(self) -> int:
        done = 0
        while self._queue:
            when, _, fn, args = heapq.heappop(self._queue)
            self._current = when
            with clock.freeze(when):
                fn(*args)
            done += 1
        self._current = None
        return done


def history_periods(today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The stretches of the past the demo fills with service: from 1 July to today, and (so
    last year's award lists have something to rank) October to December of last year. Before
    August, 1 July of last year to today covers both."""
    year = today.year
    if today >= dt.date(year, 8, 1):
        return [(dt.date(year - 1, 10, 1), dt.date(year - 1, 12, 31)),
                (dt.date(year, 7, 1), today)]
    return [(dt.date(year - 1, 7, 1), today)]


@dataclasses.dataclass
class DemoContext:
    """What later steps need from the ones before."""

    rng: random.Random
    password_hash: str
    district: OrgNode
    streets: list[OrgNode]
    communities: list[OrgNode]
    grids: dict[int, list[OrgNode]]
    units: list[OrgNode]
    staff: dict[int, User]  # community id -> first staff member
    liaisons: dict[int, User]  # unit id -> liaison
    members: list[Member]
    admin: User
    #: The real time the seeding started: the end of the history.
    now: dt.datetime
    #: When the district, its accounts and its members were set up.
    founded: dt.datetime
    #: (first day, last day) of each stretch of history, oldest first (``history_periods``).
    periods: list[tuple[dt.date, dt.date]]
    history: Timeline


def has_data() -> bool:
    return db.session.execute(select(func.count()).select_from(OrgNode)).scalar_one() > 0


def _user(ctx_hash: str, phone: str, name: str) -> User:
    # All demo accounts share one password, so hash it once (scrypt is slow on purpose).
    return accounts.create_user(None, phone, name, password_hash=ctx_hash)


def seed() -> str:
    now = clock.now()
    periods = history_periods(clock.today())
    founded = clock.local_datetime(periods[0][0] - dt.timedelta(days=30), dt.time(9))
    with clock.freeze(founded):
        ctx = _found(now, founded, periods)
    for feature in FEATURE_STEPS:
        try:
            module = importlib.import_module(f"timebank.{feature}.demo")
        except ModuleNotFoundError as e:
            if not f"timebank.{feature}.demo".startswith(e.name or "?"):
                raise
            continue
        module.seed(ctx)
    ctx.history.run()
    db.session.flush()
    n_grids = sum(len(g) for g in ctx.grids.values())
    return (f"Demo district {ctx.district.name} ({ctx.district.code}): {len(ctx.streets)} "
            f"streets, {len(ctx.communities)} communities, {n_grids} grids, {len(ctx.units)} "
            f"units, {len(ctx.members)} members; history from {periods[0][0]:%Y-%m-%d}.")


def _found(now: dt.datetime, founded: dt.datetime, periods) -> DemoContext:
    """The organisations and the people, as they were set up (the clock frozen then)."""
    rng = random.Random(SEED)
    pw_hash = generate_password_hash(DEMO_PASSWORD)
    district = orgs.create_node(None, None, OrgKind.DISTRICT, DISTRICT[1], code=DISTRICT[0])
    streets, communities, grids = [], [], {}
    for street_name, community_names in STREETS:
        street = orgs.create_node(None, district, OrgKind.STREET, street_name)
        streets.append(street)
        for cname in community_names:
            community = orgs.create_node(None, street, OrgKind.COMMUNITY, cname)
            communities.append(community)
            n_grids = 3 + (len(communities) % 2)  # 3 or 4: 42 grids in all
            grids[community.id] = [
                orgs.create_node(None, community, OrgKind.GRID, f"第{'一二三四'[i]}网格")
                for i in range(n_grids)
            ]
    units = [orgs.create_node(None, district, OrgKind.UNIT, name) for name in UNITS]

    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)

    admin = _user(pw_hash, "13800000001", "赵建国")
    accounts.assign_role(None, admin, Role.DISTRICT_ADMIN, district)
    street_admin = _user(pw_hash, "13800000002", "钱明")
    accounts.assign_role(None, street_admin, Role.STREET_ADMIN, streets[0])
    for i, street in enumerate(streets[1:], start=1):
        u = _user(pw_hash, f"1380001{i:04d}", person_name(rng))
        accounts.assign_role(None, u, Role.STREET_ADMIN, street)

    staff: dict[int, User] = {}
    for i, community in enumerate(communities):
        phone = "13800000003" if i == 0 else f"1380002{i:04d}"
        u = _user(pw_hash, phone, "孙丽华" if i == 0 else person_name(rng))
        accounts.assign_role(None, u, Role.COMMUNITY_STAFF, community)
        staff[community.id] = u

    liaisons: dict[int, User] = {}
    for i, unit in enumerate(units):
        phone = "13800000004" if i == 0 else f"1380003{i:04d}"
        u = _user(pw_hash, phone, "李志强" if i == 0 else person_name(rng))
        accounts.assign_role(None, u, Role.UNIT_LIAISON, unit)
        liaisons[unit.id] = u

    demo_members: list[Member] = []
    for i in range(300):
        community = communities[0] if i == 0 else rng.choice(communities)
        grid = rng.choice(grids[community.id])
        # Skewed: the first units in the list (hospital, schools) employ more members.
        if i == 0:
            unit = units[0]
        elif rng.random() < 0.5:
            unit = units[min(int(rng.paretovariate(1.2)) - 1, len(units) - 1)]
        else:
            unit = rng.choice(units)
        phone = "13800000005" if i == 0 else f"139{rng.randrange(10**8):08d}"
        while accounts.find_by_phone(phone) is not None:
            phone = f"139{rng.randrange(10**8):08d}"
        u = _user(pw_hash, phone, "周晓东" if i == 0 else person_name(rng))
        demo_members.append(members.create_approved_member(None, u, community, grid, unit))

    return DemoContext(rng=rng, password_hash=pw_hash, district=district, streets=streets,
                       communities=communities, grids=grids, units=units, staff=staff,
                       liaisons=liaisons, members=demo_members, admin=admin, now=now,
                       founded=founded, periods=periods, history=Timeline(now))


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for phone, role in DEMO_LOGINS:
        lines.append(f"  {role.value:<16} {phone}")
    return "\n".join(lines)
