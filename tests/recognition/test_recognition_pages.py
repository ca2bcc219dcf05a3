"""The recognition pages: rankings with export, star thresholds, the award flow through the
web (draw, publish, object, resolve, freeze) and who may see what."""
from __future__ import annotations

import io

import openpyxl
import pytest
from recognition_helpers import local, member_of

from timebank.core import clock
from timebank.recognition.models import AwardList, AwardObjection


@pytest.fixture
def served(db, tree, make_user, serve):
    evil = make_user("member", tree.C1, name="=HYPERLINK(\"x\")", unit=tree.U1)
    serve(tree.member, 600, local(2026, 3, 1, 10))
    serve(evil, 300, local(2026, 3, 2, 10))
    serve(tree.member3, 120, local(2026, 3, 1, 10))
    return evil


def test_rankings_page_and_export(db, client, tree, served):
    client.login(tree.street_admin)
    with clock.freeze(local(2026, 12, 1, 9)):
        r = client.get(f"/recognition/rankings?scope={tree.S1.id}&year=2026")
        assert r.status_code == 200
        assert "党员甲" in r.text and "党员丙" not in r.text and "排名" in r.text
        r = client.get(f"/recognition/rankings.xlsx?scope={tree.S1.id}&year=2026")
    assert r.status_code == 200 and r.mimetype.endswith("sheet")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "党员甲" in values and 10 in values  # 600 minutes = 10 hours
    # The formula-like name stays text.
    assert "'=HYPERLINK(\"x\")" in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)


def test_liaison_sees_own_unit_ranking(db, client, tree, served):
    client.login(tree.liaison)
    with clock.freeze(local(2026, 12, 1, 9)):
        r = client.get("/recognition/rankings?year=2026")
    assert r.status_code == 200 and "党员甲" in r.text and "党员丙" not in r.text


def test_star_thresholds_page(db, client, tree, served):
    client.login(tree.district_admin)
    assert "100, 300, 600, 1000, 1500" in client.get("/recognition/stars").text
    r = client.post("/recognition/stars", data={"thresholds": "300, 100"})
    assert r.status_code == 400 and "严格递增" in r.text
    r = client.post("/recognition/stars", data={"thresholds": "5，10, 20"})
    assert r.status_code == 302
    client.login(tree.member)
    r = client.get("/recognition/me", follow_redirects=True)
    assert r.status_code == 200 and "★★" in r.text  # 10 hours: levels 5 and 10 reached


def test_member_star_page_visibility(db, client, make_client, tree, served):
    m = member_of(db, tree.member)
    client.login(tree.member)
    assert client.get(f"/recognition/members/{m.id}").status_code == 200
    for user, status in ((tree.staff, 200), (tree.liaison, 200), (tree.staff3, 404),
                         (tree.liaison2, 404), (tree.member3, 404)):
        other = make_client()
        other.login(user)
        assert other.get(f"/recognition/members/{m.id}").status_code == status, user.name


def test_award_flow_through_the_pages(db, client, make_client, tree, served):
    admin = client
    admin.login(tree.street_admin)
    with clock.freeze(local(2026, 12, 1, 9)):
        r = admin.post("/recognition/awards", data={
            "year": 2026, "kind": "outstanding_member", "scope_id": tree.C1.id, "top_n": 2})
        assert r.status_code == 302, r.text
        award_list = db.session.query(AwardList).one()
        # Another street's admin cannot see it; a member cannot see the draft.
        other = make_client()
        other.login(tree.street_admin2)
        assert other.get(f"/recognition/awards/{award_list.id}").status_code == 404
        member = make_client()
        member.login(tree.member)
        assert member.get(f"/recognition/awards/{award_list.id}").status_code == 404
        r = admin.post("/recognition/awards", data={
            "year": 2026, "kind": "outstanding_member", "scope_id": tree.C3.id, "top_n": 2})
        assert r.status_code == 400  # C3 is not among the street admin's choices

    with clock.freeze(local(2026, 12, 4, 16)):
        assert admin.post(f"/recognition/awards/{award_list.id}/publish").status_code == 302
    with clock.freeze(local(2026, 12, 8, 10)):
        page = member.get(f"/recognition/awards/{award_list.id}")
        assert page.status_code == 200 and "提出异议" in page.text
        nominee = next(n for n in award_list.nominees if n.name == "党员甲")
        r = member.post(f"/recognition/awards/{award_list.id}/objections",
                        data={"nominee_id": nominee.id, "reason": "此人服务记录有误"})
        assert r.status_code == 302
        # Staff of another community and members of another street may not object.
        outsider = make_client()
        outsider.login(tree.member3)
        assert outsider.get(f"/recognition/awards/{award_list.id}").status_code == 404
        assert outsider.post(f"/recognition/awards/{award_list.id}/objections",
                             data={"nominee_id": nominee.id, "reason": "我也有异议"}
                             ).status_code == 404
        # The organiser sees who objected; the notice is still open: no freezing.
        page = admin.get(f"/recognition/awards/{award_list.id}")
        assert "此人服务记录有误" in page.text and "党员甲" in page.text
        # The freeze button is there but disabled, saying until when the notice runs.
        freeze_form = page.text.split(f'/recognition/awards/{award_list.id}/freeze"')[1]
        assert freeze_form.split("</form>")[0].count(" disabled") == 1
        assert "公示期至 " + clock.to_local(award_list.notice_ends_at).strftime("%Y-%m-%d %H:%M") in page.text
        assert admin.post(f"/recognition/awards/{award_list.id}/freeze").status_code == 409
    objection = db.session.query(AwardObjection).one()
    with clock.freeze(local(2026, 12, 14, 9)):
        page = admin.get(f"/recognition/awards/{award_list.id}")
        freeze_form = page.text.split(f'/recognition/awards/{award_list.id}/freeze"')[1]
        assert " disabled" in freeze_form.split("</form>")[0] and "须先处理 1 条未处理的异议" in page.text
        r = admin.post(f"/recognition/awards/{award_list.id}/freeze")
        assert r.status_code == 409 and "异议" in r.text
        r = admin.post(f"/recognition/awards/{award_list.id}/objections/{objection.id}/resolve",
                       data={f"o{objection.id}-decision": "dismiss",
                             f"o{objection.id}-note": "经核实，记录无误"})
        assert r.status_code == 302
        assert admin.post(f"/recognition/awards/{award_list.id}/freeze").status_code == 302
        page = member.get(f"/recognition/awards/{award_list.id}")
        assert award_list.figures_sha256 in page.text and "提出异议" not in page.text
        r = member.get(f"/recognition/awards/{award_list.id}.xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert award_list.figures_sha256 in values and "党员甲" in values
    # The member's list shows the notice.
    assert "社区优秀党员" in member.get("/recognition/awards").text


def test_organiser_actions_need_the_organiser(db, client, make_client, tree, served):
    from timebank.recognition import operations

    with clock.freeze(local(2026, 12, 1, 9)):
        award_list = operations.draw_list(tree.street_admin, 2026, "outstanding_member",
                                          tree.C1, 2)
        operations.publish(tree.street_admin, award_list)
        db.session.commit()
    # Staff of the community see the published notice but cannot act on it.
    client.login(tree.staff)
    assert client.get(f"/recognition/awards/{award_list.id}").status_code == 200
    assert client.post(f"/recognition/awards/{award_list.id}/freeze").status_code == 403
    assert client.post(f"/recognition/awards/{award_list.id}/delete").status_code == 403


def test_member_page_shows_the_star_level(db, client, tree, served):
    """The members package's member page carries the recognition star badge."""
    m = member_of(db, tree.member)
    client.login(tree.district_admin)
    client.post("/recognition/stars", data={"thresholds": "5, 10, 20"})
    client.login(tree.staff)
    page = client.get(f"/members/{m.id}").text
    assert "star-level" in page and "★★" in page and "★★★" not in page  # 10 hours
    other = member_of(db, tree.member3)
    client.login(tree.staff3)
    assert "star-level" not in client.get(f"/members/{other.id}").text  # 2 hours: no star
