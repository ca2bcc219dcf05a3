"""The exchange pages: member list, item, request, 我的兑换; staff items and request queue."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from timebank.exchange import operations
from timebank.exchange.models import ExchangeItem, ExchangeRequest, RequestStatus


def test_member_browses_requests_and_sees_status(client, db, tree, make_item, member_of, fund,
                                                 stock):
    fund(member_of(tree.member), 150)
    mine = make_item(title="爱心大米", stock=2, price=90)
    street = make_item(org=tree.S1, title="上门理发", kind="service", stock=None)
    other_street = make_item(org=tree.S2, title="丙街道物品")
    client.login(tree.member)
    page = client.get("/exchange/")
    assert page.status_code == 200
    assert "爱心大米" in page.text and "上门理发" in page.text
    assert "丙街道物品" not in page.text
    assert "1.5" in page.text  # 90 minutes shown as hours
    assert "你的时长余额：2.5 小时" in page.text
    assert "剩余 2 份" in page.text and "不限数量" in page.text
    item_page = client.get(f"/exchange/items/{mine.id}")
    assert "申请兑换（1.5 小时）" in item_page.text
    assert "周六 9:00-11:00" in item_page.text
    assert client.get(f"/exchange/items/{other_street.id}").status_code == 404
    assert client.post(f"/exchange/items/{other_street.id}/request").status_code == 404

    response = client.post(f"/exchange/items/{mine.id}/request")
    assert response.status_code == 302 and response.location.endswith("/exchange/mine")
    assert stock(mine.id) == 1
    listing = client.get("/exchange/mine")
    assert "爱心大米" in listing.text and "待处理" in listing.text
    # The item page now says it is pending instead of offering a second request.
    assert "工作人员尚未发放" in client.get(f"/exchange/items/{mine.id}").text
    req = db.session.execute(select(ExchangeRequest)).scalar_one()
    assert client.post(f"/exchange/requests/{req.id}/cancel").status_code == 302
    assert stock(mine.id) == 2
    assert "已取消" in client.get("/exchange/mine").text
    assert street.id


def test_out_of_stock_request_is_refused_with_a_message(client, db, tree, make_item,
                                                        make_member, member_of, fund):
    item = make_item(stock=1)
    other = make_member()
    fund(other, 60)
    fund(member_of(tree.member), 60)
    operations.request_item(other.user, other, item)
    db.session.commit()
    client.login(tree.member)
    assert "已兑完" in client.get(f"/exchange/items/{item.id}").text
    response = client.post(f"/exchange/items/{item.id}/request", follow_redirects=True)
    assert "抱歉，已经兑完了。" in response.text
    assert db.session.execute(select(ExchangeRequest).where(
        ExchangeRequest.member_id != other.id)).first() is None


def test_staff_creates_item_bad_input_redisplays_in_chinese(client, db, tree):
    client.login(tree.staff)
    form = client.get("/exchange/manage/new")
    assert form.status_code == 200
    # C1 staff run only C1's exchange, not the street's.
    assert f'value="{tree.C1.id}"' in form.text and f'value="{tree.S1.id}"' not in form.text
    bad = client.post("/exchange/manage/new", data={
        "org": tree.C1.id, "title": "", "kind": "goods", "price": "abc", "stock": "",
        "provider_unit": "0"})
    assert bad.status_code == 400
    assert "请填写名称。" in bad.text
    no_stock = client.post("/exchange/manage/new", data={
        "org": tree.C1.id, "title": "食用油", "kind": "goods", "price": "1.5", "stock": "",
        "provider_unit": "0", "active": "y"})
    assert no_stock.status_code == 400 and "物品需要填写库存数量。" in no_stock.text
    assert db.session.execute(select(ExchangeItem)).first() is None
    foreign = client.post("/exchange/manage/new", data={
        "org": tree.C3.id, "title": "食用油", "kind": "goods", "price": "1.5", "stock": "3",
        "provider_unit": "0", "active": "y"})
    assert foreign.status_code == 400
    ok = client.post("/exchange/manage/new", data={
        "org": tree.C1.id, "title": "食用油", "kind": "goods", "price": "1.5", "stock": "3",
        "provider_name": "区人民医院捐赠", "provider_unit": str(tree.U1.id),
        "opening_times": "每周三上午", "active": "y"})
    assert ok.status_code == 302
    item = db.session.execute(select(ExchangeItem)).scalar_one()
    assert (item.price_minutes, item.stock, item.org_id, item.provider_unit_id) == (
        90, 3, tree.C1.id, tree.U1.id)
    assert "食用油" in client.get("/exchange/manage/").text
    edit = client.post(f"/exchange/manage/items/{item.id}", data={
        "org": tree.C1.id, "title": "食用油", "kind": "goods", "price": "2", "stock": "5",
        "provider_unit": "0", "active": "y"})
    assert edit.status_code == 302
    db.session.expire_all()
    assert (item.price_minutes, item.stock) == (120, 5)


def test_staff_queue_fulfil_short_balance_refuse_and_refund(client, db, tree, make_item,
                                                            member_of, fund, balance, stock):
    member = member_of(tree.member)
    fund(member, 60)
    item = make_item(stock=3, price=60)
    first = operations.request_item(tree.member, member, item)
    second = operations.request_item(tree.member, member, item)
    db.session.commit()
    client.login(tree.staff)
    queue = client.get("/exchange/manage/requests")
    assert "党员甲" in queue.text and "大米一袋" in queue.text
    assert client.post(f"/exchange/manage/requests/{first.id}/fulfil").status_code == 302
    assert balance(member) == 0
    short = client.post(f"/exchange/manage/requests/{second.id}/fulfil")
    assert short.status_code == 409
    assert "余额为 0 小时" in short.text and "申请仍保留" in short.text
    assert db.session.get(ExchangeRequest, second.id).status == RequestStatus.REQUESTED
    no_reason = client.post(f"/exchange/manage/requests/{second.id}/refuse", data={"note": ""})
    assert no_reason.status_code == 400 and "请填写原因。" in no_reason.text
    assert client.post(f"/exchange/manage/requests/{second.id}/refuse",
                       data={"note": "本周已发完"}).status_code == 302
    assert stock(item.id) == 2
    assert client.post(f"/exchange/manage/requests/{first.id}/refund",
                       data={"note": "物品过期"}).status_code == 302
    assert balance(member) == 60 and stock(item.id) == 3
    client.logout()
    client.login(tree.member)
    mine = client.get("/exchange/mine").text
    assert "已退还" in mine and "已被拒绝" in mine and "本周已发完" in mine


def test_street_staff_run_the_street_exchange(client, db, tree, make_item, make_member, fund):
    item = make_item(org=tree.S1, title="街道助浴", kind="service", stock=None)
    m2 = make_member(community=tree.C2)
    fund(m2, 60)
    operations.request_item(m2.user, m2, item)
    db.session.commit()
    client.login(tree.street_admin)
    assert "街道助浴" in client.get("/exchange/manage/").text
    assert "街道助浴" in client.get("/exchange/manage/requests").text
    client.logout()
    client.login(tree.staff)  # community staff do not run the street's exchange
    assert "街道助浴" not in client.get("/exchange/manage/requests").text
    assert client.get(f"/exchange/manage/items/{item.id}").status_code == 404


def test_item_page_says_when_the_balance_is_short(client, db, tree, make_item, member_of, fund):
    fund(member_of(tree.member), 30)
    item = make_item(price=60)
    client.login(tree.member)
    page = client.get(f"/exchange/items/{item.id}")
    assert "你的余额为 0.5 小时；该项目需要 1 小时。" in page.text
    response = client.post(f"/exchange/items/{item.id}/request", follow_redirects=True)
    assert "你的余额为 0.5 小时；该项目需要 1 小时。" in response.text


@pytest.mark.parametrize("price", ["nan", "inf", "-1", "0", "1e400", "100.1"])
def test_odd_prices_redisplay_the_form(client, db, tree, price):
    client.login(tree.staff)
    response = client.post("/exchange/manage/new", data={
        "org": tree.C1.id, "title": "食用油", "kind": "goods", "price": price, "stock": "3",
        "provider_unit": "0", "active": "y"})
    assert response.status_code == 400
    assert "价格" in response.text
    assert db.session.execute(select(ExchangeItem)).first() is None


def test_price_is_kept_to_a_tenth_of_an_hour(client, db, tree):
    client.login(tree.staff)
    response = client.post("/exchange/manage/new", data={
        "org": tree.C1.id, "title": "食用油", "kind": "goods", "price": "1.55", "stock": "3",
        "provider_unit": "0", "active": "y"})
    assert response.status_code == 302
    assert db.session.execute(select(ExchangeItem)).scalar_one().price_minutes == 96


def test_list_pages_do_not_query_per_row(app, client, db, tree, make_item, make_member, fund):
    """Each list page is rendered with 5 rows and with 40; the statements must not grow."""
    from sqlalchemy import event

    items = [make_item(title=f"物品{i}", stock=50, price=6) for i in range(45)]
    members = [make_member() for _ in range(9)]
    for m in members:
        fund(m, 60)
    for n in range(45):
        m = members[n % len(members)]
        operations.request_item(m.user, m, items[n])
    db.session.commit()

    def statements(user, path, size):
        app.config["PAGE_SIZE"] = size
        c = app.test_client()
        c.login(user)
        c.get(path)
        db.session.remove()
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert c.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    staff, member = tree.staff.phone, members[0].user.phone
    for user, path in [(staff, "/exchange/manage/"), (staff, "/exchange/manage/requests"),
                       (member, "/exchange/"), (member, "/exchange/mine")]:
        few, many = statements(user, path, 5), statements(user, path, 40)
        assert many <= few, (path, few, many)
