"""The posts pages: publishing, finding, claiming, withdrawing, scoping."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from posts_fixtures import local_day
from timebank.core import clock
from timebank.posts.models import Claim, Post, PostSession


def count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def post_form(catalogue, tree, **over):
    data = {
        "community_id": tree.C1.id, "kind_id": catalogue["caring-01"].id, "title": "陪老人聊天",
        "description": "每周陪独居老人", "place": "社区活动室", "capacity": "3",
        "hours_credit": "", "claim_deadline": "", "mode": "dates", "start_time": "09:00",
        "end_time": "11:00", "dates": f"{local_day(5).isoformat()}\n{local_day(6).isoformat()}",
        "first_day": "", "last_day": "",
    }
    data.update(over)
    return data


def test_staff_publish_a_post_on_given_dates(client, db, tree, catalogue):
    client.login(tree.staff)
    r = client.post("/posts/manage/new", data={**post_form(catalogue, tree), "publish": "1"})
    assert r.status_code == 302, r.text
    post = db.session.execute(select(Post)).scalar_one()
    assert post.status == "published"
    assert [(clock.to_local(s.starts_at).time(), s.minutes_credit, s.capacity)
            for s in post.sessions] == [(dt.time(9), 120, 3)] * 2
    page = client.get(f"/posts/manage/{post.id}")
    assert page.status_code == 200 and "陪老人聊天" in page.text


def test_weekly_recurrence_and_credit_capped_by_length(client, db, tree, catalogue):
    client.login(tree.staff)
    first = local_day(1)
    r = client.post("/posts/manage/new", data=post_form(
        catalogue, tree, mode="weekly", dates="", first_day=first.isoformat(),
        last_day=(first + dt.timedelta(days=27)).isoformat(), weekdays=["1", "5"],
        start_time="14:00", end_time="15:30", hours_credit="1"))
    assert r.status_code == 302, r.text
    post = db.session.execute(select(Post)).scalar_one()
    assert post.status == "draft"
    days = [clock.to_local(s.starts_at) for s in post.sessions]
    assert len(days) == 8 and {d.weekday() for d in days} == {1, 5}
    assert {s.minutes_credit for s in post.sessions} == {60}


def test_form_errors_are_shown_in_chinese_and_nothing_is_written(client, db, tree, catalogue):
    client.login(tree.staff)
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree, dates="明天"))
    assert r.status_code == 400
    assert "第 1 行" in r.text or "第1行" in r.text
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree, title="",
                                                         capacity="0"))
    assert r.status_code == 400
    assert "必填" in r.text
    # The schedule is checked after the post row was flushed: the rollback leaves nothing.
    past = (clock.today() - dt.timedelta(days=2)).isoformat()
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree, dates=past))
    assert r.status_code == 400
    assert "未来" in r.text
    assert count(db, Post) == 0 and count(db, PostSession) == 0


def test_staff_cannot_publish_for_another_community(client, db, tree, catalogue):
    client.login(tree.staff)
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree,
                                                         community_id=str(tree.C3.id)))
    assert r.status_code == 400  # not among the choices
    assert count(db, Post) == 0


def test_member_finds_own_community_first_then_street_and_sees_places(client, db, tree,
                                                                       make_post):
    street = make_post(community=tree.C2, title="乙社区岗位", days=(1,))
    own = make_post(community=tree.C1, title="甲社区岗位", days=(4,), capacity=2)
    make_post(community=tree.C3, title="丙社区岗位")
    make_post(community=tree.C3, title="全区开放岗位", open_to_all=True)
    make_post(community=tree.C1, title="草稿岗位", publish=False)
    client.login(tree.member)
    r = client.get("/posts/")
    assert r.status_code == 200
    text = r.text
    assert text.index("甲社区岗位") < text.index("乙社区岗位") < text.index("全区开放岗位")
    assert "丙社区岗位" not in text and "草稿岗位" not in text
    assert "剩余 2 个名额" in text
    r = client.get(f"/posts/?kind={own.kind_id}&day={local_day(4).isoformat()}")
    assert "甲社区岗位" in r.text and "乙社区岗位" not in r.text
    assert street.id  # (used)


def test_claim_and_withdraw_through_the_pages(client, db, tree, make_post):
    post = make_post(capacity=1)
    client.login(tree.member)
    session_id = post.sessions[0].id
    r = client.post(f"/posts/{post.id}/claim", data={"session_id": session_id})
    assert r.status_code == 302
    mine = client.get("/posts/mine")
    assert post.title in mine.text
    claim = db.session.execute(select(Claim)).scalar_one()
    r = client.post(f"/posts/{post.id}/claim", data={"session_id": session_id},
                    follow_redirects=True)
    assert "已经认领" in r.text
    r = client.post(f"/posts/claims/{claim.id}/withdraw")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(PostSession, session_id).claimed == 0


def test_full_session_offers_the_waiting_list(client, db, tree, make_post, make_member):
    from timebank.posts import operations

    post = make_post(capacity=1)
    other = make_member()
    operations.claim(other.user, other, post)
    db.session.commit()
    client.login(tree.member)
    page = client.get(f"/posts/{post.id}")
    assert "加入候补" in page.text
    r = client.post(f"/posts/{post.id}/claim", data={"session_id": post.sessions[0].id,
                                                     "waitlist": "1"}, follow_redirects=True)
    assert "候补" in r.text


def test_scoping_posts_of_other_communities_are_404(client, db, tree, make_post):
    post_c3 = make_post(community=tree.C3)
    client.login(tree.staff)
    assert client.get(f"/posts/manage/{post_c3.id}").status_code == 404
    assert client.get(f"/posts/manage/sessions/{post_c3.sessions[0].id}").status_code == 404
    assert client.post(f"/posts/manage/{post_c3.id}/close").status_code == 404
    client.logout()
    client.login(tree.member)
    assert client.get(f"/posts/{post_c3.id}").status_code == 404
    assert client.post(f"/posts/{post_c3.id}/claim").status_code == 404


def test_cancel_through_the_page_tells_the_claimants(client, db, tree, make_post, member_of):
    from timebank.inbox.models import Message
    from timebank.posts import operations

    post = make_post()
    operations.claim(tree.member, member_of(tree.member), post)
    db.session.commit()
    client.login(tree.staff)
    r = client.post(f"/posts/manage/{post.id}/cancel", data={"reason": "场地维修"})
    assert r.status_code == 302
    msg = db.session.execute(select(Message).where(Message.recipient_id == tree.member.id)
                             ).scalar_one()
    assert "场地维修" in msg.body and "取消" in msg.subject


def test_staff_add_a_kind_for_their_community(client, db, tree, catalogue):
    from timebank.catalogue.models import PostCategory, PostKind

    client.login(tree.staff)
    cat = db.session.execute(select(PostCategory).where(PostCategory.code == "culture")
                             ).scalar_one()
    r = client.post("/posts/manage/kinds", data={"kind-community_id": tree.C1.id,
                                                 "kind-category_id": cat.id,
                                                 "kind-name": "剪纸"})
    assert r.status_code == 302
    kind = db.session.execute(select(PostKind).where(PostKind.name == "剪纸")).scalar_one()
    assert kind.community_id == tree.C1.id
    form = client.get("/posts/manage/new")
    assert "剪纸" in form.text
    client.logout()
    client.login(tree.staff3)
    assert "剪纸" not in client.get("/posts/manage/new").text


def test_fits_my_availability_and_skills(client, db, tree, make_post, member_of):
    from timebank.members import operations as members

    first_aid = members.create_skill(tree.district_admin, "急救")
    legal = members.create_skill(tree.district_admin, "法律")
    day = local_day(3)
    members.save_profile(tree.member, member_of(tree.member), skills=[first_aid],
                         availability=[(day.weekday(), "morning")])
    db.session.commit()
    make_post(title="合适的岗位", days=(3,), skill_ids=[first_aid.id])
    make_post(title="缺技能的岗位", days=(3,), skill_ids=[legal.id])
    make_post(title="没空的岗位", days=(3,), start="19:00", end="20:00")
    make_post(title="已满的岗位", days=(3,), capacity=1)
    from timebank.posts import operations
    from timebank.posts.models import Post

    full = db.session.execute(select(Post).where(Post.title == "已满的岗位")).scalar_one()
    other = member_of(tree.member3)
    full.open_to_all = True
    db.session.commit()
    operations.claim(tree.member3, other, full)
    db.session.commit()
    client.login(tree.member)
    text = client.get("/posts/?fits=1").text
    assert "合适的岗位" in text
    for title in ("缺技能的岗位", "没空的岗位", "已满的岗位"):
        assert title not in text
    assert "缺技能的岗位" in client.get("/posts/").text


def test_edit_a_draft_and_a_published_post(client, db, tree, catalogue, make_post):
    draft = make_post(publish=False, days=(4,))
    client.login(tree.staff)
    form = client.get(f"/posts/manage/{draft.id}/edit")
    assert form.status_code == 200 and draft.title in form.text
    r = client.post(f"/posts/manage/{draft.id}/edit", data=post_form(
        catalogue, tree, title="改过的标题", dates=f"{local_day(7)}\n{local_day(8)} 14:00-15:00"))
    assert r.status_code == 302, r.text
    db.session.expire_all()
    post = db.session.get(Post, draft.id)
    assert post.title == "改过的标题"
    assert [(clock.to_local(s.starts_at).time(), s.minutes_credit) for s in post.sessions] == [
        (dt.time(9), 120), (dt.time(14), 60)]
    published = make_post(capacity=2)
    session_ids = [s.id for s in published.sessions]
    r = client.post(f"/posts/manage/{published.id}/edit", data=post_form(
        catalogue, tree, title=published.title, capacity="4", dates="ignored"))
    assert r.status_code == 302, r.text
    db.session.expire_all()
    assert [s.id for s in db.session.get(Post, published.id).sessions] == session_ids
    assert {s.capacity for s in db.session.get(Post, published.id).sessions} == {4}


def test_post_form_uses_checkboxes_not_a_native_multi_select(client, db, tree, catalogue):
    """Native multi-selects are unusable on phones; the skills and weekdays are checkboxes that
    keep what was ticked when the form comes back with an error."""
    client.login(tree.staff)
    page = client.get("/posts/manage/new").text
    assert "multiple" not in page.split("<form", 1)[1]
    assert 'type="checkbox" name="weekdays" id="weekdays-1" value="1">' in page
    assert '<fieldset class="mb-3 choice-group " id="skill_ids">' in page
    data = {**post_form(catalogue, tree, title=""), "weekdays": ["1", "5"]}
    r = client.post("/posts/manage/new", data=data)
    assert r.status_code == 400
    assert 'name="weekdays" id="weekdays-1" value="1" checked' in r.text
    assert 'name="weekdays" id="weekdays-5" value="5" checked' in r.text
    assert 'name="weekdays" id="weekdays-2" value="2" checked' not in r.text


def test_credit_is_entered_in_hours_and_kept_to_the_minute(client, db, tree, catalogue,
                                                           make_post):
    client.login(tree.staff)
    page = client.get("/posts/manage/new").text
    assert "每场计入时长（小时）" in page and "分钟" not in page.split("<form", 1)[1].split("</form>")[0]
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree, hours_credit="1.5"))
    assert r.status_code == 302, r.text
    post = db.session.execute(select(Post).order_by(Post.id.desc())).scalars().first()
    assert {s.minutes_credit for s in post.sessions} == {90}
    r = client.post("/posts/manage/new", data=post_form(catalogue, tree, hours_credit="25"))
    assert r.status_code == 400 and "0 到 24" in r.text
    # A credit of 50 minutes reads 0.83 h on the form and saves back as 50 minutes.
    draft = make_post(publish=False, days=(4,), minutes_credit=50)
    form = client.get(f"/posts/manage/{draft.id}/edit").text
    assert 'value="0.83"' in form
    value = re.search(r'name="hours_credit"[^>]*value="([^"]*)"', form) or re.search(
        r'value="([^"]*)"[^>]*name="hours_credit"', form)
    r = client.post(f"/posts/manage/{draft.id}/edit", data=post_form(
        catalogue, tree, hours_credit=value.group(1)))
    assert r.status_code == 302, r.text
    db.session.expire_all()
    assert {s.minutes_credit for s in db.session.get(Post, draft.id).sessions} == {50}
