"""Demo data for reports: community staff's evaluation notes on members, and the monthly
performance feedback cards (表现反馈卡), made by the job's own body at its scheduled time on
the 1st of each month after a month of the demo's history, so each unit's liaison has a card
per month in their inbox and on the unit's page.

Runs on ``ctx.history`` after the posts and the time bank, so each card counts what had
happened by the morning it was made. Deterministic (its own seeded generator)."""
from __future__ import annotations

import datetime as dt
import random

from timebank.core import clock
from timebank.reports import operations, tasks

SEED = 20261125
NOTES = ["按时参加社区服务，亮身份、作表率，表现积极。", "主动认领助老岗位，居民反映良好。",
         "本月参与较少，已与本人沟通，下月安排周末岗位。", "服务认真细致，带动家属一起参加志愿活动。",
         "签到签退规范，能提前到岗做好准备。"]
#: Members of the liaison login's unit who get a note in a month (the demo member always).
NOTED_PER_MONTH = 3


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def seed(ctx) -> None:
    rng = random.Random(SEED)
    unit_members = [m for m in ctx.members if m.unit_id == ctx.units[0].id and m.is_approved]
    for first, last in ctx.periods:
        month = first.replace(day=1)
        while month <= last:
            following = _next_month(month)
            noted = [ctx.members[0]] + rng.sample(
                [m for m in unit_members if m is not ctx.members[0]],
                k=min(NOTED_PER_MONTH - 1, len(unit_members) - 1))
            for m in noted:
                when = clock.local_datetime(month + dt.timedelta(days=rng.randint(20, 26)),
                                            dt.time(16, rng.randrange(60)))
                ctx.history.at(when, operations.add_evaluation, ctx.staff[m.community_id], m,
                               month, rng.choice(NOTES))
            # The job's own schedule: 07:00 on the 1st, for the month before.
            run = clock.local_datetime(following, dt.time(7))
            ctx.history.at(run, tasks.monthly_feedback_cards, run)
            month = following
