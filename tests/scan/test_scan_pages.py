"""The scanner's pages and JSON endpoints: what a member and a staff member see after a scan,
every refusal in words, and nothing written by a refused scan."""
from __future__ import annotations

from sqlalchemy import func, select

from scan_helpers import during, other_district_member, session_url
from timebank.core import clock
from timebank.posts.models import Claim
from timebank.scan import codes


def _post_json(client, url, body):
    return client.open(url, method="POST", json=body,
                       headers={"X-CSRFToken": client.csrf_token()})


def _claims(db, session_id):
    return db.session.execute(select(func.count()).select_from(Claim).where(
        Claim.session_id == session_id, Claim.status == "active")).scalar_one()


def test_member_scans_a_session_code_walks_in_then_checks_out(app, db, client, tree, make_post):
    session = make_post(capacity=2, days=(1,)).sessions[0]
    url = session_url(app, session)
    client.login(tree.member)
    with clock.freeze(during(session)):
        page = client.get("/scan/")
        assert page.status_code == 200 and 'id="scanner"' in page.text
        assert "vendor/jsqr/jsQR.js" in page.text and "扫码签到" in page.text
        r = _post_json(client, "/scan/checkin", {"code": url})
        assert r.status_code == 200, r.text
        assert r.json["ok"] and r.json["walked_in"] and r.json["action"] == "check_in"
        assert "报名" in r.json["message"]
        assert _claims(db, session.id) == 1
    with clock.freeze(during(session, 70)):
        r = _post_json(client, "/scan/checkin", {"code": url})
        assert r.json["action"] == "check_out" and "核实" in r.json["message"]
        r = _post_json(client, "/scan/checkin", {"code": url})
        assert r.status_code == 409 and r.json["error"]["message"] == "您已签退。"


def test_member_scan_refusals_are_json_in_chinese(app, db, client, tree, make_post, make_member):
    full = make_post(capacity=1, days=(1,)).sessions[0]
    from timebank.posts import operations

    other = make_member()
    operations.claim(other.user, other, full.post)
    db.session.commit()
    client.login(tree.member)
    member_code, _ = codes.member_code(other)
    with clock.freeze(during(full)):
        cases = [
            ({"code": session_url(app, full)}, 409, "post_full", "已满"),
            ({"code": "https://example.com/x"}, 400, "not_a_checkin_code", "不是"),
            ({"code": member_code}, 400, "invalid", "工作人员"),
            ({"code": session_url(app, full)[:-4] + "AAAA"}, 404, "not_found", "无效"),
            ({"code": session_url(app, full), "latitude": "95", "longitude": "1"}, 400,
             "invalid", "位置"),
            ({"code": session_url(app, full), "action": "dance"}, 400, "invalid", None),
        ]
        for body, status, code, words in cases:
            r = _post_json(client, "/scan/checkin", body)
            assert r.status_code == status, (body, r.text)
            assert r.json["error"]["code"] == code, (body, r.json)
            if words:
                assert words in r.json["error"]["message"], (body, r.json)
        r = client.open("/scan/checkin", method="POST", data="not json",
                        content_type="application/json",
                        headers={"X-CSRFToken": client.csrf_token()})
        assert r.status_code == 400 and r.json["error"]["message"]
        # Without the CSRF token the request is refused before anything runs.
        assert client.open("/scan/checkin", method="POST",
                           json={"code": session_url(app, full)}).status_code == 400
    assert _claims(db, full.id) == 1


def test_staff_scan_members_codes_for_a_session_they_manage(app, db, make_client, tree,
                                                            make_post, make_member):
    session = make_post(capacity=3, days=(1,)).sessions[0]
    member, outsider = make_member(), other_district_member(db, make_member)
    staff = make_client()
    staff.login(tree.staff)
    with clock.freeze(during(session)):
        page = staff.get("/scan/")
        assert page.status_code == 200 and session.post.title in page.text
        assert f'/scan/sessions/{session.id}/checkin' in page.text  # the only session: chosen
        code, _ = codes.member_code(member)
        url = f"/scan/sessions/{session.id}/checkin"
        r = _post_json(staff, url, {"code": code})
        assert r.status_code == 200, r.text
        assert r.json["walked_in"] and member.user.name in r.json["message"]
        assert (r.json["checked_in"], r.json["claimed"]) == (1, 1)
        refusals = [
            (codes.member_code(outsider)[0], "other_district", "其他区"),
            (session_url(app, session), "invalid", "个人签到码"),
            ("TBM1.forged.sig", "code_invalid", "无效"),
        ]
        for text, code_, words in refusals:
            r = _post_json(staff, url, {"code": text})
            assert r.status_code == 400 and r.json["error"]["code"] == code_, r.json
            assert words in r.json["error"]["message"], r.json
    with clock.freeze(during(session) + codes.LIFETIME + codes.LIFETIME):
        r = _post_json(staff, url, {"code": code})
        assert r.json["error"]["code"] == "code_expired" and "过期" in r.json["error"]["message"]
    assert _claims(db, session.id) == 1


def test_staff_set_the_posts_place_from_their_phone(db, make_client, tree, make_post):
    post = make_post(days=(1,))
    staff = make_client()
    staff.login(tree.staff)
    url = f"/scan/sessions/{post.sessions[0].id}/location"
    assert _post_json(staff, url, {"latitude": 31.2, "longitude": 121.5}).json["ok"]
    db.session.expire_all()
    assert (post.latitude, post.longitude) == (31.2, 121.5)
    r = _post_json(staff, url, {"latitude": 31.2})
    assert r.status_code == 400
    db.session.expire_all()
    assert post.latitude == 31.2


def test_my_code_page_and_its_image(client, tree):
    client.login(tree.member)
    page = client.get("/scan/my-code")
    assert page.status_code == 200 and "我的签到码" in page.text
    first = client.get("/scan/my-code.svg")
    assert first.mimetype == "image/svg+xml"
    assert first.data.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')  # a real image
    assert "no-store" in first.headers["Cache-Control"]


def test_the_check_in_page_a_phone_camera_opens_offers_a_walk_in(app, db, client, tree,
                                                                 make_post, make_member,
                                                                 member_of):
    """The session's code opened by the phone's own camera app: without a claim, the page
    offers to sign up and check in while a place is free, and says so when none is."""
    from timebank.posts import operations, qr

    post = make_post(capacity=2, days=(1,))
    session = post.sessions[0]
    other = make_member()
    operations.claim(other.user, other, post)
    db.session.commit()
    token = qr.token_for(session)
    client.login(tree.member)
    with clock.freeze(during(session)):
        page = client.get(f"/posts/checkin/{token}")
        assert page.status_code == 200 and "报名并签到" in page.text
        r = client.post(f"/posts/checkin/{token}", data={"action": "check_in", "walk_in": "1"},
                        follow_redirects=True)
        assert "已为您现场报名并签到" in r.text and 'id="checked-in"' in r.text
        assert _claims(db, session.id) == 2
        late = make_member()
        late_client = app.test_client()
        late_client.login(late.user)
        page = late_client.get(f"/posts/checkin/{token}")
        assert page.status_code == 400 and "名额" in page.text
        r = late_client.post(f"/posts/checkin/{token}",
                             data={"action": "check_in", "walk_in": "1"}, follow_redirects=True)
        assert "名额已满" in r.text
    assert _claims(db, session.id) == 2
    assert member_of(tree.member).id in {c.member_id for c in db.session.execute(
        select(Claim).where(Claim.session_id == session.id)).scalars()}


def test_the_api_check_in_takes_walk_ins_and_positions(app, db, client, token_for, tree,
                                                       make_post, make_member):
    from timebank.posts import operations, qr

    post = make_post(capacity=1, days=(1,))
    operations.set_location(None, post, operations.Position(31.2304, 121.4737))
    db.session.commit()
    session = post.sessions[0]
    token = qr.token_for(session)

    def call(user, body):
        return client.open("/api/v1/checkins", method="POST", json=body,
                           headers={"Authorization": f"Bearer {token_for(user)}"})

    late = make_member()
    with clock.freeze(during(session)):
        r = call(tree.member, {"token": token})
        assert (r.status_code, r.get_json()["code"]) == (403, "forbidden")
        r = call(tree.member, {"token": token, "walk_in": "yes"})
        assert (r.status_code, r.get_json()["code"]) == (400, "invalid")
        r = call(tree.member, {"token": token, "walk_in": True, "latitude": 31.2404,
                               "longitude": 121.4737})
        body = r.get_json()
        assert r.status_code == 200, body
        assert body["walked_in"] and body["far"] and body["distance_m"] > 1000
        r = call(late.user, {"token": token, "walk_in": True})
        assert (r.status_code, r.get_json()["code"]) == (409, "post_full")
    assert _claims(db, session.id) == 1


def test_staff_pick_from_the_sessions_they_manage_that_are_open_now(db, make_client, tree,
                                                                    make_post):
    from timebank.posts import queries

    open_now = make_post(title="今天开放的岗位", days=(1,)).sessions[0]
    make_post(title="三天后的岗位", days=(3,))
    make_post(title="丙社区的岗位", community=tree.C3, days=(1,))
    with clock.freeze(during(open_now)):
        assert queries.checkin_sessions(tree.staff, clock.now()) == [open_now]
        assert [s.post.title for s in queries.checkin_sessions(tree.staff3, clock.now())] == [
            "丙社区的岗位"]
        assert queries.checkin_sessions(tree.member, clock.now()) == []
        staff = make_client()
        staff.login(tree.staff)
        page = staff.get("/scan/?mode=staff").text
        assert "今天开放的岗位" in page and "三天后的岗位" not in page
        assert "丙社区的岗位" not in page


def test_the_session_code_download_is_a_standalone_svg(make_client, tree, make_post):
    session = make_post(days=(1,)).sessions[0]
    staff = make_client()
    staff.login(tree.staff)
    r = staff.get(f"/posts/manage/sessions/{session.id}/qr.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert r.data.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
