"""Issue 19, item 10: the contact card's phone reveal is audited, the SQLite file is private,
and names cannot carry invisible or reordering characters."""
from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select

from timebank import create_app
from timebank.audit.models import AuditEvent
from timebank.config import TestConfig
from timebank.core.validators import clean_text
from timebank.members import queries
from timebank.orgs import operations as orgs
from timebank.orgs.models import OrgKind


def _phone_reveals(db):
    return db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "member.reveal_phone")).scalars().all()


def test_contact_card_reveal_is_audited_for_others_only(make_client, db, tree):
    member = queries.member_for_user(tree.member)
    own = make_client()
    own.login(tree.member)
    assert own.get(f"/members/{member.id}/card").status_code == 200
    assert _phone_reveals(db) == []  # a member opening their own card reveals nothing
    for who in (tree.staff, tree.liaison):
        c = make_client()
        c.login(who)
        r = c.get(f"/members/{member.id}/card")
        assert r.status_code == 200 and tree.member.phone in r.text
    events = _phone_reveals(db)
    assert sorted(e.actor_id for e in events) == sorted([tree.staff.id, tree.liaison.id])
    assert {e.target_id for e in events} == {member.id}
    # Refused viewers neither see the number nor leave a reveal entry.
    outsider = make_client()
    outsider.login(tree.staff3)
    assert outsider.get(f"/members/{member.id}/card").status_code == 404
    assert len(_phone_reveals(db)) == 2


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_new_sqlite_file_is_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "fresh.sqlite3"
        app = create_app(TestConfig(f"sqlite:///{path}", instance=str(tmp_path / "inst")))
        with app.app_context():
            from timebank.extensions import db

            db.session.execute(select(1))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.parametrize("raw, stored", [
    ("张\u200b三", "张三"),              # zero-width space
    ("李\u202e四\u202c", "李四"),         # right-to-left override ... pop
    ("王\u2066五\u2069", "王五"),         # isolates
    ("\ufeff赵六", "赵六"),              # byte-order mark
    ("ＡＢＣ１２３", "ABC123"),           # full-width forms
    ("  钱   七 ", "钱 七"),
    ("孙\u00ad八", "孙八"),              # soft hyphen
])
def test_clean_text(raw, stored):
    assert clean_text(raw) == stored


def test_person_and_place_names_are_stored_clean(client, db, tree, make_user):
    user = make_user("member", tree.C1, name="周\u200d九\u202e", grid=tree.G1a)
    assert user.name == "周九"
    node = orgs.create_node(None, tree.S1, OrgKind.COMMUNITY, "丁\u200b社区\u202e", code="C9")
    assert node.name == "丁社区"
    orgs.rename_node(None, node, "\u2067戊社区")
    assert node.name == "戊社区"
    with pytest.raises(Exception):
        # A name made only of format characters is empty once cleaned.
        make_user("member", tree.C1, name="\u200b\u200b", grid=tree.G1a)
