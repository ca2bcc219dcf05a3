"""Demo step for teams (issue 15): three teams in every street (a grid team, a retired party
members' team and a specialist team), led by one of their members, with members from the
street's communities, and one team claim (three places) made a few hours ago by the demo member,
who leads the first grid team. Runs last (it enrols the members the earlier steps made and claims a
session the posts step published). Deterministic: its own seeded random generator."""
from __future__ import annotations

import datetime as dt
import random

from timebank.core.errors import DomainError
from timebank.extensions import db
from timebank.teams import operations, queries

#: (kind, name pattern, specialties) of each street's teams, one per community in turn.
TEAMS = [
    ("grid", "{grid}志愿者服务队", "环境整治、邻里守望、政策宣传"),
    ("retired", "{community}离退休党员服务队", "文明劝导、关爱老人、调解纠纷"),
    ("specialist", "{community}专业服务队", "电器维修、法律咨询、医疗保健"),
]


def _claim_for(team, leader, mates) -> None:
    """A team claim of three members for the first session with room for them: the leader and
    two mates if they are free then, else three mates (a member's month may be full)."""
    groups = [[leader, *mates[:2]], mates[:3], mates[3:6]]
    for session in queries.claimable_sessions(team):
        for group in groups:
            if len(group) < 3 or session.capacity - session.claimed < len(group):
                continue
            savepoint = db.session.begin_nested()
            try:
                operations.team_claim(leader.user, team, session, group)
            except DomainError:
                savepoint.rollback()
                continue
            savepoint.commit()
            return


def seed(ctx) -> None:
    rng = random.Random(20261208 + 15)
    demo_member = ctx.members[0]
    for street in ctx.streets:
        communities = [c for c in ctx.communities if c.parent_id == street.id]
        people = [m for m in ctx.members if m.is_approved
                  and any(m.community_id == c.id for c in communities)]
        for i, (kind, pattern, specialties) in enumerate(TEAMS):
            community = communities[i % len(communities)]
            grid = None
            if kind == "grid":  # the demo member's grid where they live, so they lead it
                grid = (demo_member.grid if community.id == demo_member.community_id
                        else ctx.grids[community.id][0])
            here = [m for m in people if m.community_id == community.id
                    and (grid is None or m.grid_id == grid.id)]
            if demo_member in here and kind == "grid":
                leader = demo_member
            elif here:
                leader = rng.choice(here)
            else:
                continue
            staff = ctx.staff[community.id]
            joined = (ctx.founded + dt.timedelta(days=rng.randint(1, 20))).date()
            team = operations.create_team(
                staff, grid or community,
                pattern.format(grid=grid.name if grid else "", community=community.name),
                kind, leader, specialties, joined_on=joined)
            others = [m for m in people if m is not leader]
            mates = rng.sample(others, min(len(others), rng.randint(5, 9)))
            for m in mates:
                operations.enrol(staff, team, m,
                                 joined_on=joined + dt.timedelta(days=rng.randint(0, 30)))
            if leader is demo_member:
                ctx.history.at(ctx.now - dt.timedelta(hours=3), _claim_for, team, leader, mates)
    db.session.flush()
