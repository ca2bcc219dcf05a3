"""Access declarations for the exchange routes (see tests/test_access.py)."""


def _item(t) -> int:
    """An item of community C3 (street S2)."""
    from timebank.exchange import operations
    from timebank.extensions import db

    item = operations.create_item(None, t.C3, operations.ItemData(
        title="丙社区大米", kind="goods", price_minutes=60, stock=5))
    db.session.commit()
    return item.id


def _request(t) -> int:
    """An open request of member3 for a C3 item."""
    import datetime as dt

    from sqlalchemy import select

    from tests.service_records import served
    from timebank.core import clock
    from timebank.exchange import operations
    from timebank.exchange.models import ExchangeItem
    from timebank.extensions import db
    from timebank.members.models import Member

    item = db.session.get(ExchangeItem, _item(t))
    m3 = db.session.execute(select(Member).where(Member.user_id == t.member3.id)).scalar_one()
    served(t.staff3, m3, clock.now() - dt.timedelta(days=2), 60)
    req = operations.request_item(t.member3, m3, item)
    db.session.commit()
    return req.id


def _item_cases(path: str, method: str = "GET", users=("member", "staff", "street_admin")):
    def build(t):
        iid = _item(t)
        return [(method, path.format(iid), u, 404) for u in users]
    return build


def _request_cases(path: str, users):
    def build(t):
        rid = _request(t)
        return [("POST", path.format(rid), u, 404) for u in users]
    return build


SCOPED = {
    "exchange.index": lambda t: [("GET", "/exchange/", "staff", 403),
                                 ("GET", "/exchange/", "liaison", 403)],
    "exchange.mine": lambda t: [("GET", "/exchange/mine", "staff", 403)],
    "exchange.item": _item_cases("/exchange/items/{}"),
    "exchange.request_item": _item_cases("/exchange/items/{}/request", "POST",
                                         ("member", "staff")),
    "exchange.cancel": _request_cases("/exchange/requests/{}/cancel", ("member", "staff3")),
    "exchange.manage": lambda t: [("GET", "/exchange/manage/", "member", 403),
                                  ("GET", "/exchange/manage/", "liaison", 403)],
    "exchange.new": lambda t: [("GET", "/exchange/manage/new", "member", 403),
                               ("POST", "/exchange/manage/new", "liaison", 403)],
    "exchange.edit": _item_cases("/exchange/manage/items/{}", "GET",
                                 ("member3", "staff", "street_admin")),
    "exchange.queue": lambda t: [("GET", "/exchange/manage/requests", "member", 403)],
    "exchange.fulfil": _request_cases("/exchange/manage/requests/{}/fulfil",
                                      ("member3", "staff", "street_admin")),
    "exchange.refuse": _request_cases("/exchange/manage/requests/{}/refuse",
                                      ("member3", "staff", "street_admin")),
    "exchange.refund": _request_cases("/exchange/manage/requests/{}/refund",
                                      ("member3", "staff", "street_admin")),
}
