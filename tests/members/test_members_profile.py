"""The registration form (特长爱好和服务意愿登记表): versions, history, the matcher's view."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from timebank.members import operations, queries
from timebank.members.models import MemberProfile, ProfileSource
from timebank.catalogue.models import PostKind


@pytest.fixture
def member(tree):
    return queries.member_for_user(tree.member)


def _form(skill_map, catalogue, **extra):
    data = {"skills": [str(skill_map["医疗护理"].id), str(skill_map["书法"].id)],
            "free_text_skills": "会修自行车", "hobbies": "太极拳、摄影",
            "willing_categories": [str(catalogue["caring"].id)],
            "availability": ["0-evening", "5-morning", "5-afternoon"],
            "max_sessions_per_month": "4"}
    data.update(extra)
    return data


def test_member_fills_in_and_edits_the_form_keeping_history(client, db, tree, member, skills,
                                                             catalogue):
    client.login(tree.member)
    assert client.get(f"/members/{member.id}/form").status_code == 200
    r = client.post(f"/members/{member.id}/form", data=_form(skills, catalogue))
    assert r.status_code == 302, r.text
    p1 = queries.current_profile(member)
    assert p1.version == 1
    assert p1.skill_ids == {skills["医疗护理"].id, skills["书法"].id}
    assert p1.skill_codes == {skills["医疗护理"].code, skills["书法"].code}
    assert p1.willing_category_ids == {catalogue["caring"].id}
    assert p1.availability == {(0, "evening"), (5, "morning"), (5, "afternoon")}
    assert p1.max_sessions_per_month == 4 and p1.hobbies == "太极拳、摄影"
    assert p1.is_free(5, "morning") and not p1.is_free(1, "morning")

    # The same form again: no new version.
    client.post(f"/members/{member.id}/form", data=_form(skills, catalogue))
    db.session.expire_all()
    assert queries.current_profile(member).version == 1

    kind = db.session.execute(select(PostKind).where(PostKind.name == "理发义剪")).scalar_one()
    r = client.post(f"/members/{member.id}/form", data=_form(
        skills, catalogue, skills=[str(skills["法律咨询"].id)], willing_kinds=[str(kind.id)],
        availability=["6-evening"], max_sessions_per_month=""))
    assert r.status_code == 302
    db.session.expire_all()
    p2 = queries.current_profile(member)
    assert p2.version == 2 and p2.skill_ids == {skills["法律咨询"].id}
    assert p2.willing_kind_ids == {kind.id} and p2.max_sessions_per_month is None
    # Version 1 is unchanged.
    v1 = db.session.execute(select(MemberProfile).where(
        MemberProfile.member_id == member.id, MemberProfile.version == 1)).scalar_one()
    assert {s.name for s in v1.skills} == {"医疗护理", "书法"} and v1.max_sessions_per_month == 4
    assert v1.source == ProfileSource.MEMBER

    page = client.get(f"/members/{member.id}/history")
    assert page.status_code == 200
    assert "医疗护理" in page.text and "法律咨询" in page.text  # both versions shown


def test_staff_edit_is_recorded_as_staff(client, db, tree, member, skills, catalogue):
    client.login(tree.staff)
    r = client.post(f"/members/{member.id}/form", data=_form(skills, catalogue))
    assert r.status_code == 302
    row = operations.current_profile_row(member)
    assert row.source == ProfileSource.STAFF and row.created_by_id == tree.staff.id
    assert client.get(f"/members/{member.id}/history").status_code == 200


def test_retired_skill_cannot_be_chosen(client, db, tree, member, skills, catalogue):
    operations.update_skill(None, skills["书法"], "书法", "Calligraphy", active=False)
    db.session.commit()
    client.login(tree.member)
    r = client.post(f"/members/{member.id}/form", data=_form(skills, catalogue))
    assert r.status_code == 400
    assert queries.current_profile(member) is None


def test_bad_availability_and_counts_are_refused(client, tree, member, skills, catalogue):
    client.login(tree.member)
    assert client.post(f"/members/{member.id}/form", data=_form(
        skills, catalogue, availability=["7-evening"])).status_code == 400
    assert client.post(f"/members/{member.id}/form", data=_form(
        skills, catalogue, max_sessions_per_month="99")).status_code == 400
    assert queries.current_profile(member) is None


def test_kind_of_another_community_is_refused(db, tree, member, catalogue):
    kind = PostKind(category_id=catalogue["caring"].id, code="c3-only", name="丙社区专属",
                    name_en="", position=9, community_id=tree.C3.id)
    db.session.add(kind)
    db.session.commit()
    with pytest.raises(operations.Invalid):
        operations.save_profile(tree.member, member, kinds=[kind])


def test_versions_are_never_changed(db, tree, member, skills):
    profile = operations.save_profile(tree.member, member, skills=[skills["书法"]], hobbies="a")
    db.session.commit()
    profile.hobbies = "changed"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_profiles_for_many_members_takes_two_queries(app, db, tree, make_user, skills, catalogue):
    members = [queries.member_for_user(make_user("member", tree.C1, grid=tree.G1a))
               for _ in range(30)]
    for i, m in enumerate(members):
        operations.save_profile(None, m, skills=[skills["书法"]] if i % 2 else [],
                                categories=[catalogue["convenience"]],
                                availability={(i % 7, "evening")}, max_sessions_per_month=i)
    db.session.commit()
    ids = [m.id for m in members]
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        got = queries.profiles_for(ids + [999999])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    assert set(got) == {m.id for m in members}
    for i, m in enumerate(members):
        p = got[m.id]
        assert p.availability == {(i % 7, "evening")} and p.max_sessions_per_month == i
        assert p.skill_ids == ({skills["书法"].id} if i % 2 else set())
        assert p.willing_category_ids == {catalogue["convenience"].id}
    assert queries.profiles_for([]) == {}


def test_member_for_user(tree):
    assert queries.member_for_user(tree.member).user_id == tree.member.id
    assert queries.member_for_user(tree.staff) is None
