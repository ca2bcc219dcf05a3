"""Helpers for the members tests: valid ID numbers, the post catalogue and a skills list."""
from __future__ import annotations

import itertools

import pytest
from stdnum.cn import ric

_seq = itertools.count(1)


def make_id_number(n: int | None = None, region: str = "110105", birth: str = "19800101") -> str:
    """A checksum-valid ID number, different for each ``n``."""
    n = next(_seq) if n is None else n
    body = f"{region}{birth}{n % 1000:03d}"
    if n >= 1000:  # vary the birth day too so numbers stay unique beyond 1000
        day = 1 + (n // 1000) % 28
        body = f"{region}{birth[:6]}{day:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def id_number():
    return make_id_number


@pytest.fixture
def catalogue(db):
    """Two post categories with kinds, like the district catalogue."""
    from timebank.catalogue.models import PostCategory, PostKind

    cats = {}
    for pos, (code, name, kinds) in enumerate([
        ("convenience", "便民服务", ["理发义剪", "家电维修"]),
        ("caring", "爱心帮扶", ["空巢老人探访", "课业辅导"]),
    ]):
        cat = PostCategory(code=code, name=name, name_en=code, position=pos)
        db.session.add(cat)
        db.session.flush()
        cats[code] = cat
        for kpos, kname in enumerate(kinds):
            db.session.add(PostKind(category_id=cat.id, code=f"{code}-{kpos}", name=kname,
                                    name_en=kname, position=kpos))
    db.session.commit()
    return cats


@pytest.fixture
def skills(db):
    from timebank.members import operations

    out = {name: operations.create_skill(None, name, en) for name, en in
           [("医疗护理", "Nursing"), ("法律咨询", "Legal advice"), ("书法", "Calligraphy"),
            ("电脑维修", "Computer repair")]}
    db.session.commit()
    return out


@pytest.fixture
def register_data(tree, id_number):
    def build(**overrides):
        data = {"phone": "13912345678", "name": "王小明", "id_number": id_number(),
                "unit_id": str(tree.U1.id), "community_id": str(tree.C1.id),
                "grid_id": str(tree.G1a.id), "password": "secret-pass-1",
                "confirm": "secret-pass-1"}
        data.update(overrides)
        return data

    return build


@pytest.fixture
def pending_member(db, tree, id_number):
    """A pending applicant in C1 (unit U1), registered through the operation."""
    from timebank.members import operations

    member = operations.register("13911110000", "李申请", id_number(), "secret-pass-1",
                                 tree.C1, tree.G1b, tree.U1)
    db.session.commit()
    return member


@pytest.fixture
def district(db, tree):
    """The tree plus the demo skills, post catalogue and grid names the sample file uses."""
    from timebank.members.demo import seed_post_catalogue, seed_skills
    from timebank.orgs import operations as orgs

    seed_skills()
    seed_post_catalogue()
    tree.g1 = orgs.create_node(None, tree.C1, "grid", "第一网格")
    tree.g2 = orgs.create_node(None, tree.C1, "grid", "第二网格")
    db.session.commit()
    return tree
