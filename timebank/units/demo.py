"""Demo step for units (issue 14): a roster for every demo unit (its members who reported, plus
people on the roster who have not registered yet) and two co-building agreements per street,
with fulfilment recorded, so the roster and agreement pages have something real on them.

Runs after the members step (members carry ID numbers by then). Deterministic: its own seeded
random generator, so adding it does not change what the earlier steps drew.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.lists.models import Project
from timebank.members.demo import demo_id_number, person_name
from timebank.units import operations
from timebank.units.roster import import_rows

#: Commitments of the demo agreements: (kind, description, target as typed).
COMMITMENTS = [
    [("hours", "在职党员每月进社区开展志愿服务", "200"), ("project", "认领社区“微心愿”项目", "2"),
     ("contact", "明确一名联络员对接社区", "1")],
    [("venue", "每周六开放单位活动室供居民使用", "24"), ("funds", "资助老旧小区便民设施改造", "20000")],
    [("hours", "组织党员开展义诊、法律咨询等专业服务", "120"), ("venue", "开放单位停车场错峰停车", "1")],
]


def _roster_rows(rng: random.Random, ctx, unit) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for m in ctx.members:
        if m.unit_id != unit.id:
            continue
        # Most rows carry the ID number; some units' files only had phones.
        cells = {"name": m.user.name, "management": "直管" if rng.random() < 0.4 else "协管",
                 "community": m.community.name}
        if m.id_number and rng.random() < 0.85:
            cells["id_number"] = m.id_number
        else:
            cells["phone"] = m.user.phone
        rows.append(cells)
    for _ in range(rng.randint(2, 6)):  # 在册未注册
        rows.append({"name": person_name(rng), "id_number": demo_id_number(rng),
                     "phone": f"135{rng.randrange(10**8):08d}",
                     "management": "直管" if rng.random() < 0.4 else "协管",
                     "community": rng.choice(ctx.communities).name if rng.random() < 0.6 else ""})
    return [(i, cells) for i, cells in enumerate(rows, start=2)]


def _sign_for_org(agreement, ctx):
    people = operations.org_signers(agreement)
    return people[0] if people else ctx.admin


def seed(ctx) -> None:
    rng = random.Random(20261207 + 14)
    today = clock.today()
    year_start = dt.date(today.year, 1, 1)

    for unit in ctx.units:
        result = import_rows(ctx.liaisons[unit.id], unit, _roster_rows(rng, ctx, unit),
                             all_or_nothing=False)
        assert result.committed

    units = list(ctx.units)
    for i, street in enumerate(ctx.streets):
        community = next(c for c in ctx.communities if c.parent_id == street.id)
        for j, org in enumerate((community, street)):
            unit = units[(2 * i + j) % len(units)]
            liaison = ctx.liaisons[unit.id]
            agreement = operations.create_agreement(
                liaison, unit, org, f"{today.year}年度{unit.name}与{org.name}共建协议",
                year_start, dt.date(today.year, 12, 31))
            for kind, text, target in COMMITMENTS[(i + j) % len(COMMITMENTS)]:
                operations.add_commitment(liaison, agreement, kind, text,
                                          operations.parse_amount(kind, target, "target"))
            operations.sign(liaison, agreement)
            if i == 0 and j == 1:
                continue  # waits for the demo street admin's signature
            signer = _sign_for_org(agreement, ctx)
            operations.sign(signer, agreement)
            project = db.session.execute(select(Project).where(
                Project.community_id == community.id).order_by(Project.id)).scalars().first()
            for n, item in enumerate(agreement.items):
                if n == len(agreement.items) - 1 and rng.random() < 0.5:
                    continue  # not started yet
                share = rng.choice([0.3, 0.5, 1.0])
                amount = max(1, int(item.target * share))
                on = min(today, year_start + dt.timedelta(days=rng.randint(10, 200)))
                operations.record_fulfilment(
                    signer, item, amount, on, "按协议完成，社区确认。",
                    evidence=f"台账第{rng.randint(1, 60)}页",
                    project_id=project.id if item.kind == "project" and project else None)
    db.session.flush()
