"""Fixtures for the lists tests: the same as the matcher's (catalogue, skills, posts, members
with a form), plus demands and resources."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "matching"))

from match_fixtures import (catalogue, make_member, make_post, proposals,  # noqa: E402,F401
                            run_match, skills)


@pytest.fixture
def make_demand(db, tree, catalogue):  # noqa: F811 (the imported fixture)
    """``make_demand(community=C1, actor=None, **DemandData fields)`` -> a committed Demand."""
    from sqlalchemy import select

    from timebank.lists import operations
    from timebank.catalogue.models import PostCategory

    def make(community=None, actor=None, category="convenience", **kw):
        cat = db.session.execute(select(PostCategory).where(PostCategory.code == category)
                                 ).scalar_one()
        kw.setdefault("title", "需要帮忙")
        demand = operations.create_demand(actor, operations.DemandData(
            community=community or tree.C1, category=cat, **kw))
        db.session.commit()
        return demand

    return make


@pytest.fixture
def make_resource(db, tree):
    """``make_resource(unit=U1 | member=..., **ResourceData fields)`` -> a committed Resource."""
    from timebank.lists import operations

    def make(unit=None, member=None, actor=None, **kw):
        if unit is None and member is None:
            unit = tree.U1
        kw.setdefault("kind", "volunteers")
        kw.setdefault("title", "志愿服务队")
        kw.setdefault("area", tree.S1)
        resource = operations.create_resource(actor, operations.ResourceData(**kw), unit=unit,
                                              member=member)
        db.session.commit()
        return resource

    return make
