"""Fixtures shared by the matcher and lists tests (imported by their conftest.py): a catalogue,
skills, posts on a chosen weekday and members with a registration form."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

_seq = itertools.count(1)


def day_on(weekday: int, at_least: int = 2) -> dt.date:
    """The first date on ``weekday`` (0 = Monday) at least ``at_least`` days ahead."""
    from timebank.core import clock

    day = clock.today() + dt.timedelta(days=at_least)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def catalogue(db):
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.catalogue.models import PostKind

    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
    db.session.commit()
    return {k.code: k for k in db.session.execute(select(PostKind)).scalars()}


@pytest.fixture
def skills(db):
    """Three skills: {"law": Skill, "repair": Skill, "care": Skill}."""
    from timebank.members import operations

    out = {code: operations.create_skill(None, name, code=code)
           for code, name in (("law", "法律咨询"), ("repair", "家电维修"), ("care", "护理"))}
    db.session.commit()
    return out


@pytest.fixture
def make_post(db, tree, catalogue):
    """``make_post(community=C1, capacity=2, weekday=5, start="09:00", skills=(), kind=...,
    open_to_all=False)`` -> a published Post with one session on the next such weekday."""
    from timebank.posts import operations
    from timebank.posts.schedule import Schedule

    def make(community=None, capacity=2, weekday=5, start="09:00", end="11:00", skills=(),
             kind="convenience-03", open_to_all=False, days_ahead=2, publish=True):
        day = day_on(weekday, days_ahead)
        schedule = Schedule("dates", dt.time.fromisoformat(start), dt.time.fromisoformat(end),
                            dates_text=day.isoformat())
        data = operations.PostData(kind=catalogue[kind], title=f"岗位{next(_seq)}",
                                   capacity=capacity, schedule=schedule,
                                   skill_ids=[s.id for s in skills], open_to_all=open_to_all)
        post = operations.create_post(None, community or tree.C1, data)
        if publish:
            operations.publish(None, post)
        db.session.commit()
        return post

    return make


@pytest.fixture
def make_member(db, make_user, tree, catalogue):
    """``make_member(community=C1, grid=None, skills=(), kinds=("convenience-03",),
    free=((5, "morning"),), limit=None)`` -> an approved Member with a registration form."""
    from timebank.members import operations
    from timebank.members.models import Member

    def make(community=None, grid=None, skills=(), kinds=("convenience-03",), categories=(),
             free=((5, "morning"),), limit=None, name=None):
        user = make_user("member", community or tree.C1, grid=grid, name=name)
        member = db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()
        operations.save_profile(None, member, skills=list(skills),
                                kinds=[catalogue[k] for k in kinds],
                                categories=list(categories), availability=list(free),
                                max_sessions_per_month=limit)
        db.session.commit()
        return member

    return make


@pytest.fixture
def run_match(db):
    """``run_match(scope=None, actor=None)`` -> RunResult, committed."""
    from timebank.matching import operations

    def run(scope=None, actor=None, **kw):
        result = operations.run_matching(actor, scope, **kw)
        db.session.commit()
        return result

    return run


@pytest.fixture
def proposals(db):
    """``proposals(status="proposed", kind="post")`` -> list of Proposal."""
    from timebank.matching.models import Proposal

    def get(status="proposed", kind="post"):
        return list(db.session.execute(
            select(Proposal).where(Proposal.status == status, Proposal.kind == kind)
            .order_by(Proposal.id)).scalars())

    return get
