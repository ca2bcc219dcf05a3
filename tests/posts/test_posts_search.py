"""Finding posts by keyword (Chinese, full pinyin, initials) and filters; sharing a post."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from posts_fixtures import local_day
from timebank.posts import operations
from timebank.posts.models import Post


def titles(page_text: str, posts) -> set[str]:
    return {p.title for p in posts if p.title in page_text}


@pytest.fixture
def some_posts(make_post, tree):
    return {
        # The kind (书法教学) does not contain 理发: the title must be what matches.
        "haircut": make_post(title="社区理发", kind="culture-01", place="活动室"),
        "chess": make_post(title="陪老人下棋", kind="culture-06", days=(10,)),
        "law": make_post(title="法律咨询日", kind="convenience-03", place="便民服务站",
                         description="律师现场解答", community=tree.C2),
    }


@pytest.mark.parametrize("q", ["理发", "lifa", "lf", "LF", "shequlifa", "sqlf"])
def test_keyword_chinese_pinyin_and_initials_find_the_post(client, tree, some_posts, q):
    client.login(tree.member)
    r = client.get("/posts/", query_string={"q": q})
    assert r.status_code == 200
    assert titles(r.text, some_posts.values()) == {"社区理发"}


def test_description_place_and_kind_are_searched(client, tree, some_posts):
    client.login(tree.member)
    assert titles(client.get("/posts/?q=律师现场").text, some_posts.values()) == {"法律咨询日"}
    assert titles(client.get("/posts/?q=便民服务站").text, some_posts.values()) == {"法律咨询日"}
    # The kind 书法教学 by its initials.
    assert titles(client.get("/posts/?q=sfjx").text, some_posts.values()) == {"社区理发"}
    # Several words: every one must match.
    assert titles(client.get("/posts/?q=理发 下棋").text, some_posts.values()) == set()


def test_pinyin_follows_an_edit(client, db, tree, some_posts):
    post = some_posts["chess"]
    data = operations.PostData(kind=post.kind, title="义务理发", capacity=post.capacity,
                               schedule=None, description=post.description, place=post.place)
    operations.update_post(tree.staff, post, data)
    db.session.commit()
    client.login(tree.member)
    assert titles(client.get("/posts/?q=ywlf").text, [post]) == {"义务理发"}
    assert "义务理发" not in client.get("/posts/?q=xq").text
    assert "义务理发" not in client.get("/posts/?q=下棋").text


def test_filters_scope_dates_free_places_and_sort(client, db, tree, some_posts, make_post):
    client.login(tree.member)
    names = some_posts.values()
    assert titles(client.get("/posts/?scope=community").text, names) == {"社区理发", "陪老人下棋"}
    assert titles(client.get("/posts/?scope=street").text, names) == set(p.title for p in names)
    day = local_day(10).isoformat()
    assert titles(client.get(f"/posts/?from={day}&to={day}").text, names) == {"陪老人下棋"}
    full = make_post(title="满员的岗位", capacity=1)
    other = operations.member_may_see  # noqa: F841
    from timebank.posts.models import PostSession

    session = db.session.execute(select(PostSession).where(PostSession.post_id == full.id)
                                 ).scalar_one()
    session.claimed = 1
    db.session.commit()
    assert "满员的岗位" in client.get("/posts/").text
    assert "满员的岗位" not in client.get("/posts/?free=1").text
    text = client.get("/posts/?sort=start&scope=community").text
    assert text.index("社区理发") < text.index("陪老人下棋")


@pytest.mark.parametrize("query", ["from=2026-13-40", "from=2030-01-02&to=2030-01-01",
                                   "scope=moon", "category=abc", "kind=999999999999999999999",
                                   "sort=%27;drop", "q=" + "理" * 300])
def test_bad_filters_say_so_in_chinese(client, tree, some_posts, query):
    client.login(tree.member)
    r = client.get("/posts/?" + query)
    assert r.status_code == 400
    assert "filter-error" in r.text
    assert "社区理发" in r.text or "q=" in query


def test_paging_twenty_per_page(client, tree, make_post):
    for i in range(23):
        make_post(title=f"理发第{i:02d}场")
    client.login(tree.member)
    first = client.get("/posts/?q=lf&sort=start").text
    second = client.get("/posts/?q=lf&sort=start&page=2").text
    on_first = {i for i in range(23) if f"理发第{i:02d}场" in first}
    on_second = {i for i in range(23) if f"理发第{i:02d}场" in second}
    assert len(on_first) == 20 and len(on_second) == 3 and not on_first & on_second


def test_like_wildcards_are_not_a_match_everything(client, tree, some_posts):
    client.login(tree.member)
    assert titles(client.get("/posts/?q=%25").text, some_posts.values()) == set(
        p.title for p in some_posts.values())  # no term: the plain list
    assert titles(client.get("/posts/?q=_%25_").text, some_posts.values()) == set(
        p.title for p in some_posts.values())
    assert titles(client.get("/posts/?q=lf%25zz").text, some_posts.values()) == set()


# --- sharing -----------------------------------------------------------------------------------


def test_detail_has_share_link_and_poster_with_a_decodable_qr(client, tree, some_posts):
    import zxingcpp
    from PIL import Image

    post = some_posts["haircut"]
    client.login(tree.member)
    page = client.get(f"/posts/{post.id}")
    assert f"http://localhost/posts/{post.id}" in page.text
    assert f"/posts/{post.id}/poster.png" in page.text
    r = client.get(f"/posts/{post.id}/poster.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    image = Image.open(io.BytesIO(r.data))
    assert image.format == "PNG" and image.size == (750, 1100)
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [f"http://localhost/posts/{post.id}"]


def test_poster_access_follows_the_post(client, db, tree, some_posts, make_post):
    draft = make_post(title="草稿岗位", publish=False)
    elsewhere = make_post(title="二街道岗位", community=tree.C3)
    client.login(tree.member)
    assert client.get(f"/posts/{draft.id}/poster.png").status_code == 404
    assert client.get(f"/posts/{elsewhere.id}/poster.png").status_code == 404
    client.login(tree.staff)
    assert client.get(f"/posts/{draft.id}/poster.png").status_code == 200


def test_share_link_leads_through_login_to_the_post(app, tree, some_posts):
    post = some_posts["haircut"]
    anonymous = app.test_client()
    r = anonymous.get(f"/posts/{post.id}")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert f"posts/{post.id}" in r.headers["Location"].replace("%2F", "/")
    assert anonymous.get(f"/posts/{post.id}/poster.png").status_code == 302


def test_search_index_rows_exist_for_every_post(db, some_posts):
    from timebank.posts import search

    ids = set(db.session.execute(search.matching_post_ids(["理发"])).scalars())
    assert some_posts["haircut"].id in ids and some_posts["law"].id not in ids
    assert db.session.execute(select(Post.id)).scalars().all()
