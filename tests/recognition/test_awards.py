"""Annual awards: drawing from the ranking, public notice in working days, objections,
freezing, and the frozen list's immutability (operations and database triggers)."""
from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from recognition_helpers import local, member_of

from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.recognition import notice, operations, queries
from timebank.recognition.errors import (
    DuplicateObjection,
    ListExists,
    ListFrozen,
    NoticeClosed,
    NoticeNotOver,
    OpenObjections,
    WrongListStatus,
)
from timebank.recognition.models import AwardList, AwardNominee


@pytest.fixture
def ranked(db, tree, make_user, serve):
    """C1 members 甲 (300 min), 乙 (200), 丙 and 丁 (100 each; 丙's was written first),
    戊 (50)."""
    users = {}
    for name, minutes in (("甲", 300), ("乙", 200), ("丙", 100), ("丁", 100), ("戊", 50)):
        users[name] = make_user("member", tree.C1, name=name, unit=tree.U1)
        serve(users[name], minutes, local(2026, 3, 1, 10))
    return users


def _draw(tree, top_n=3, actor=None, scope=None, kind="outstanding_member"):
    with clock.freeze(local(2026, 12, 1, 9)):
        award_list = operations.draw_list(actor or tree.street_admin, 2026, kind,
                                          scope or tree.C1, top_n)
    return award_list


def _publish(db, award_list, actor, at=None):
    with clock.freeze(at or local(2026, 12, 4, 16)):  # a Friday
        operations.publish(actor, award_list)
    db.session.commit()


def test_notice_end_counts_working_days():
    friday = local(2026, 12, 4, 16)
    # Mon 7 .. Fri 11: the notice ends when Friday the 11th is over.
    assert notice.notice_end(friday, 5) == local(2026, 12, 12)
    assert notice.notice_end(local(2026, 12, 7, 9), 5) == local(2026, 12, 15)  # Monday
    # A holiday on Wednesday the 9th pushes it to Monday; a working Saturday (调休) pulls back.
    assert notice.notice_end(friday, 5, holidays=["2026-12-09"]) == local(2026, 12, 15)
    assert notice.notice_end(friday, 5, holidays=["2026-12-09"],
                             extra_workdays=["2026-12-12"]) == local(2026, 12, 13)


def test_draw_takes_the_first_approved_members_of_the_ranking(db, tree, ranked):
    member_of(db, ranked["乙"]).status = "inactive"
    db.session.commit()
    award_list = _draw(tree, top_n=3)
    db.session.commit()
    nominees = queries.active_nominees(award_list)
    assert [(n.name, n.rank, n.service_minutes) for n in nominees] == [
        ("甲", 1, 300), ("丙", 3, 100), ("丁", 4, 100)]
    assert award_list.status == "draft" and nominees[0].community_name == "甲社区"
    with pytest.raises(ListExists):
        _draw(tree, top_n=2)


def test_who_may_draw(db, tree, ranked):
    with pytest.raises(Forbidden):  # street admin of another street
        _draw(tree, actor=tree.street_admin2)
    with pytest.raises(Forbidden):  # community staff do not organise awards
        _draw(tree, actor=tree.staff)
    with pytest.raises(Invalid):  # 社区优秀党员 is a community award
        _draw(tree, scope=tree.S1)
    assert _draw(tree, actor=tree.district_admin, scope=tree.D, kind="civilised_citizen")


def test_objections_during_the_notice_period(db, tree, ranked):
    award_list = _draw(tree, top_n=2)
    db.session.commit()
    _publish(db, award_list, tree.street_admin)
    assert award_list.notice_ends_at == local(2026, 12, 12)
    jia, yi = queries.active_nominees(award_list)
    objector = ranked["戊"]

    with clock.freeze(local(2026, 12, 8, 10)):
        objection = operations.file_objection(objector, award_list, jia, "服务时长存在虚报")
        db.session.commit()
        with pytest.raises(DuplicateObjection):
            operations.file_objection(objector, award_list, jia, "再次提出异议")
        # A member of another street is outside the list's scope.
        with pytest.raises(Forbidden):
            operations.file_objection(tree.member3, award_list, jia, "我有异议啊")
        with pytest.raises(Invalid):
            operations.file_objection(objector, award_list, yi, "短")
        # The notice is not over, and an objection is open: the list cannot be frozen.
        with pytest.raises(NoticeNotOver):
            operations.freeze(tree.street_admin, award_list)
    db.session.rollback()

    # After the notice ends, no new objections; the open one blocks freezing until resolved.
    with clock.freeze(local(2026, 12, 12, 0, 0, 1)):
        with pytest.raises(NoticeClosed):
            operations.file_objection(ranked["丙"], award_list, yi, "我对此有异议")
        with pytest.raises(OpenObjections):
            operations.freeze(tree.street_admin, award_list)
        with pytest.raises(Forbidden):
            operations.resolve_objection(tree.street_admin2, objection, True, "核实属实")
        operations.resolve_objection(tree.street_admin, objection, True, "经核实，时长虚报")
        db.session.commit()
        assert jia.status == "removed" and objection.status == "upheld"
        digest = operations.freeze(tree.street_admin, award_list)
        db.session.commit()

    assert award_list.status == "frozen"
    figures = json.loads(award_list.figures_json)
    assert [e["name"] for e in figures["entries"]] == ["乙"]
    assert figures["entries"][0]["service_minutes"] == 200
    assert digest == award_list.figures_sha256 == hashlib.sha256(
        award_list.figures_json.encode()).hexdigest()
    # The objector was told.
    from timebank.inbox.models import Message

    assert db.session.query(Message).filter_by(recipient_id=objector.id).count() == 1


def test_dismissed_objection_keeps_the_nominee(db, tree, ranked):
    award_list = _draw(tree, top_n=1)
    db.session.commit()
    _publish(db, award_list, tree.street_admin)
    [jia] = queries.active_nominees(award_list)
    with clock.freeze(local(2026, 12, 8, 10)):
        objection = operations.file_objection(ranked["乙"], award_list, jia, "我认为不合适")
        operations.resolve_objection(tree.district_admin, objection, False, "经核实，时长属实")
        db.session.commit()
    with clock.freeze(local(2026, 12, 14, 9)):
        operations.freeze(tree.district_admin, award_list)
        db.session.commit()
    assert [n.name for n in queries.active_nominees(award_list)] == ["甲"]


def _frozen(db, tree, ranked) -> AwardList:
    award_list = _draw(tree, top_n=2)
    db.session.commit()
    _publish(db, award_list, tree.street_admin)
    with clock.freeze(local(2026, 12, 14, 9)):
        operations.freeze(tree.street_admin, award_list)
    db.session.commit()
    return award_list


def test_operations_refuse_to_change_a_frozen_list(db, tree, ranked):
    award_list = _frozen(db, tree, ranked)
    jia = queries.active_nominees(award_list)[0]
    with clock.freeze(local(2026, 12, 15, 9)):
        for attempt in (lambda: operations.remove_nominee(tree.street_admin, jia, "不再符合"),
                        lambda: operations.publish(tree.street_admin, award_list),
                        lambda: operations.freeze(tree.street_admin, award_list),
                        lambda: operations.delete_draft(tree.street_admin, award_list)):
            with pytest.raises(ListFrozen):
                attempt()
        with pytest.raises(NoticeClosed):
            operations.file_objection(ranked["戊"], award_list, jia, "冻结后的异议")


@pytest.mark.parametrize("statement", [
    "UPDATE award_nominees SET service_minutes = 9999 WHERE list_id = :id",
    "UPDATE award_nominees SET status = 'removed' WHERE list_id = :id",
    "DELETE FROM award_nominees WHERE list_id = :id",
    "UPDATE award_lists SET figures_sha256 = 'x' WHERE id = :id",
    "UPDATE award_lists SET status = 'published' WHERE id = :id",
    "DELETE FROM award_lists WHERE id = :id",
    ("INSERT INTO award_nominees (list_id, member_id, rank, name, community_name, "
     "service_minutes, sessions, reached_at, star_level, status) SELECT :id, member_id, 9, "
     "'x', 'x', 1, 1, reached_at, 0, 'nominated' FROM award_nominees LIMIT 1"),
])
def test_the_database_rejects_changes_to_a_frozen_list(db, tree, ranked, statement):
    award_list = _frozen(db, tree, ranked)
    before = [(n.member_id, n.service_minutes, n.status) for n in queries.all_nominees(award_list)]
    with pytest.raises(sa.exc.DatabaseError, match="frozen"), db.engine.begin() as conn:
        conn.execute(sa.text(statement), {"id": award_list.id})
    db.session.expire_all()
    assert [(n.member_id, n.service_minutes, n.status)
            for n in queries.all_nominees(award_list)] == before
    assert db.session.get(AwardList, award_list.id).status == "frozen"


def test_draft_and_published_lists_are_not_locked_by_the_triggers(db, tree, ranked):
    award_list = _draw(tree, top_n=2)
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE award_nominees SET rank = rank WHERE list_id = :id"),
                     {"id": award_list.id})
    with clock.freeze(local(2026, 12, 2, 9)):
        operations.remove_nominee(tree.street_admin, queries.active_nominees(award_list)[0],
                                  "不符合条件")
        db.session.commit()
    assert [n.name for n in queries.active_nominees(award_list)] == ["乙"]
    with pytest.raises(WrongListStatus):
        operations.freeze(tree.street_admin, award_list)
    operations.delete_draft(tree.street_admin, award_list)
    db.session.commit()
    assert db.session.query(AwardNominee).count() == 0


def test_publishing_tells_the_nominees(db, tree, ranked):
    from timebank.inbox.models import Message

    award_list = _draw(tree, top_n=1)
    db.session.commit()
    _publish(db, award_list, tree.street_admin)
    [msg] = db.session.query(Message).filter_by(recipient_id=ranked["甲"].id).all()
    assert "社区优秀党员" in msg.subject and msg.link == f"/recognition/awards/{award_list.id}"


def test_members_only_see_published_lists_of_their_scope(db, tree, ranked):
    from timebank.recognition.queries import lists_for

    award_list = _draw(tree, top_n=1)
    db.session.commit()
    visible = lambda u: db.session.execute(lists_for(u)).scalars().all()
    assert visible(tree.street_admin) == [award_list]
    assert visible(ranked["乙"]) == [] and not award_list.can_view(ranked["乙"])
    _publish(db, award_list, tree.street_admin)
    assert visible(ranked["乙"]) == [award_list] and award_list.can_view(ranked["乙"])
    assert visible(tree.member3) == [] and not award_list.can_view(tree.member3)
    assert visible(tree.staff) == [award_list]
    assert visible(tree.street_admin2) == [] and not award_list.can_view(tree.street_admin2)
    assert award_list.in_scope(member_of(db, ranked["乙"]))
