"""Demo data for recognition: a district list that went through its public notice (with an
objection answered) and is final, and a community list in notice now.

Runs after the posts demo, whose verified hours make the rankings."""
from __future__ import annotations

import datetime as dt

from timebank.core import clock
from timebank.extensions import db
from timebank.recognition import operations, queries


def seed(ctx) -> None:
    now = clock.now()
    year = clock.today().year
    if queries.count(ctx.district, year) == 0:
        return
    # Published two weeks ago, so the 5 working days of notice are over; one objection,
    # answered; then frozen.
    with clock.freeze(now - dt.timedelta(days=14)):
        final = operations.draw_list(ctx.admin, year, "outstanding_volunteer", ctx.district, 10)
        operations.publish(ctx.admin, final)
    nominees = queries.active_nominees(final)
    objector = next((m for m in ctx.members if m.id not in {n.member_id for n in nominees}),
                    None)
    if objector is not None and len(nominees) > 1:
        with clock.freeze(now - dt.timedelta(days=12)):
            objection = operations.file_objection(
                objector.user, final, nominees[-1], "听说该同志部分服务时长是代签的，请核实。")
        with clock.freeze(now - dt.timedelta(days=10)):
            operations.resolve_objection(ctx.admin, objection, False,
                                         "经社区核对签到记录和现场照片，服务时长属实。")
    operations.freeze(ctx.admin, final)

    community = ctx.communities[0]
    if queries.count(community, year):
        in_notice = operations.draw_list(ctx.admin, year, "outstanding_member", community, 3)
        operations.publish(ctx.admin, in_notice)
    db.session.flush()
