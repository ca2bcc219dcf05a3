"""Demo data for recognition: last year's award lists, drawn in January from last year's
verified hours, through their public notice (one objection, answered) and frozen; the year-end
ranking snapshot taken by the job's own body on 1 January; and this year's list for the demo
community in notice now.

Runs on ``ctx.history`` after the posts and the time bank, so each list ranks the hours
verified by the day it was drawn."""
from __future__ import annotations

import datetime as dt

from timebank.core import clock
from timebank.recognition import operations, queries, tasks

#: (award, scope: "district" or "community", nominees) of last year's lists.
LAST_YEAR = [("outstanding_volunteer", "district", 10), ("outstanding_member", "community", 3)]
OBJECTION = "听说该同志部分服务时长是代签的，请核实。"
ANSWER = "经社区核对签到记录和现场照片，服务时长属实。"


def seed(ctx) -> None:
    year = clock.to_local(ctx.now).year
    if ctx.periods[0][0].year < year:
        january = dt.date(year, 1, 1)
        snapshot_at = clock.local_datetime(january, dt.time(1))
        ctx.history.at(snapshot_at, tasks.year_end_snapshot, snapshot_at)
        for i, (kind, scope, top_n) in enumerate(LAST_YEAR):
            node = ctx.district if scope == "district" else ctx.communities[0]
            ctx.history.at(clock.local_datetime(january + dt.timedelta(days=5 + i), dt.time(10)),
                           _last_year_list, ctx, year - 1, kind, node, top_n, i == 0)
    ctx.history.at(ctx.now - dt.timedelta(days=2), _in_notice, ctx, year)


def _last_year_list(ctx, year: int, kind: str, scope, top_n: int, objected: bool) -> None:
    if queries.count(scope, year) == 0:
        return
    award_list = operations.draw_list(ctx.admin, year, kind, scope, top_n)
    operations.publish(ctx.admin, award_list)
    now = clock.now()
    if objected:
        nominees = queries.active_nominees(award_list)
        on_list = {n.member_id for n in nominees}
        objector = next((m for m in ctx.members if m.id not in on_list and m.is_approved), None)
        if objector is not None and len(nominees) > 1:
            ctx.history.at(now + dt.timedelta(days=2), _object, ctx, award_list, objector,
                           nominees[-1])
    # Frozen on the first morning after the notice.
    ctx.history.at(award_list.notice_ends_at + dt.timedelta(hours=10), operations.freeze,
                   ctx.admin, award_list)


def _object(ctx, award_list, objector, nominee) -> None:
    objection = operations.file_objection(objector.user, award_list, nominee, OBJECTION)
    ctx.history.at(clock.now() + dt.timedelta(days=1), operations.resolve_objection, ctx.admin,
                   objection, False, ANSWER)


def _in_notice(ctx, year: int) -> None:
    community = ctx.communities[0]
    if queries.count(community, year):
        award_list = operations.draw_list(ctx.admin, year, "outstanding_member", community, 3)
        operations.publish(ctx.admin, award_list)
