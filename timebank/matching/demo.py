"""Demo data for the matcher: one stored run over the whole district, so the matching page shows
proposals with their reasons. The lists are seeded first (their demands and resources are half
of what it matches), although the lists' own demo step comes later in ``FEATURE_STEPS``. The run
is the last thing on ``ctx.history``: it weighs the members' recent claims, which the posts'
history writes first."""
from __future__ import annotations


def seed(ctx) -> None:
    ctx.history.at(ctx.now, _run, ctx)


def _run(ctx) -> None:
    from timebank.lists import demo as lists_demo
    from timebank.matching import operations
    from timebank.matching.models import RunOrigin

    lists_demo.seed(ctx)
    operations.run_matching(None, None, origin=RunOrigin.DEMO)
