"""Exchange pages. Members: the 爱心超市 list, an item with its request button, 我的兑换.
Staff: the items of the exchanges they run and the queue of requests to fulfil or refuse."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import nav
from timebank.core.web import page_arg
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.exchange import operations, queries
from timebank.exchange.forms import ItemForm, NoteForm
from timebank.exchange.models import ExchangeItem, ExchangeRequest, RequestStatus
from timebank.extensions import db
from timebank.members import queries as members
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode

bp = Blueprint("exchange", __name__, url_prefix="/exchange")

# One member entry: the member's nav is inline and already long; 我的兑换 is a button on the
# 爱心超市 page and where a request lands.
nav.register(_l("Love exchange"), "exchange.index", lambda u: u.is_member, order=27)
nav.register(_l("Exchange items"), "exchange.manage", lambda u: u.is_staff, order=34)
nav.register(_l("Exchange requests"), "exchange.queue", lambda u: u.is_staff, order=35)


def _page() -> int:
    return page_arg()


def _size() -> int:
    return current_app.config["PAGE_SIZE"]


def _own_member() -> Member:
    member = members.member_for_user(current_user)
    if member is None:
        abort(403)
    return member


# --- member pages ------------------------------------------------------------------------------

@bp.route("/")
def index():
    member = _own_member()
    return render_template("exchange/index.html", member=member,
                           balance=operations.member_balance(member),
                           page=queries.items_for_member(member, _page(), _size()))


def _visible_item(item_id: int) -> ExchangeItem:
    member = members.member_for_user(current_user)
    return get_or_404(ExchangeItem, item_id,
                      lambda i: (i.active and i.open_to(member)) or i.can_manage(current_user))


@bp.route("/items/<int:item_id>")
def item(item_id: int):
    it = _visible_item(item_id)
    member = members.member_for_user(current_user)
    pending = queries.open_request(member, it) if member is not None else None
    return render_template("exchange/item.html", item=it, member=member, pending=pending,
                           may_request=it.open_to(member),
                           balance=operations.member_balance(member) if member else None)


@bp.route("/items/<int:item_id>/request", methods=["POST"])
def request_item(item_id: int):
    member = members.member_for_user(current_user)
    it = get_or_404(ExchangeItem, item_id, lambda i: i.active and i.open_to(member))
    try:
        operations.request_item(current_user, member, it)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
        return redirect(url_for("exchange.item", item_id=item_id))
    db.session.commit()
    flash(_("Requested. The staff will tell you when to collect it."), "success")
    return redirect(url_for("exchange.mine"))


@bp.route("/mine")
def mine():
    member = _own_member()
    return render_template("exchange/mine.html", member=member,
                           page=queries.requests_of_member(member, _page(), _size()))


@bp.route("/requests/<int:request_id>/cancel", methods=["POST"])
def cancel(request_id: int):
    req = get_or_404(ExchangeRequest, request_id,
                     lambda r: r.member.user_id == current_user.id)
    try:
        operations.cancel_request(current_user, req)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("Request cancelled."), "success")
    return redirect(url_for("exchange.mine"))


# --- staff pages -------------------------------------------------------------------------------

def _staff() -> None:
    require(current_user.is_staff)


@bp.route("/manage/")
def manage():
    _staff()
    return render_template("exchange/manage.html",
                           page=queries.managed_items(current_user, _page(), _size()))


def _item_form(orgs: list[OrgNode], obj: ExchangeItem | None = None) -> ItemForm:
    form = ItemForm()
    form.org.choices = [(o.id, o.full_name) for o in orgs]
    form.provider_unit.choices = [(0, _("(none)"))] + [(u.id, u.name) for u in queries.units()]
    if obj is not None and not form.is_submitted():
        form.org.data = obj.org_id
        form.title.data = obj.title
        form.kind.data = obj.kind
        form.price.data = (Decimal(obj.price_minutes) / 60).quantize(Decimal("0.1"))
        form.stock.data = obj.stock
        form.provider_name.data = obj.provider_name
        form.provider_unit.data = obj.provider_unit_id or 0
        form.opening_times.data = obj.opening_times
        form.description.data = obj.description
        form.active.data = obj.active
    return form


def _data(form: ItemForm) -> operations.ItemData:
    unit = db.session.get(OrgNode, form.provider_unit.data) if form.provider_unit.data else None
    return operations.ItemData(
        title=form.title.data, kind=form.kind.data,
        # Prices are whole tenths of an hour (what the hours formatter shows).
        price_minutes=int(form.price.data.quantize(Decimal("0.1"), ROUND_HALF_UP) * 60),
        stock=form.stock.data, description=form.description.data or "",
        provider_name=form.provider_name.data or "", provider_unit=unit,
        opening_times=form.opening_times.data or "", active=bool(form.active.data))


def _save(form: ItemForm, item: ExchangeItem | None, orgs: list[OrgNode]):
    template = "exchange/item_form.html"
    if not form.validate():
        return render_template(template, form=form, item=item), 400
    org = next((o for o in orgs if o.id == form.org.data), None)
    try:
        if item is None:
            item = operations.create_item(current_user, org, _data(form))
        else:
            if org is not None and org.id != item.org_id:
                form.org.errors = [_("An item stays in the exchange it was created in.")]
                return render_template(template, form=form, item=item), 400
            operations.update_item(current_user, item, _data(form))
    except DomainError as e:
        db.session.rollback()
        field = getattr(form, e.details.get("field") or "", None) or form.title
        field.errors = list(field.errors) + [str(e.message)]
        return render_template(template, form=form, item=item), 400
    db.session.commit()
    flash(_("Item saved."), "success")
    return redirect(url_for("exchange.manage"))


@bp.route("/manage/new", methods=["GET", "POST"])
def new():
    _staff()
    orgs = queries.managed_orgs(current_user)
    require(bool(orgs))
    form = _item_form(orgs)
    if form.is_submitted():
        return _save(form, None, orgs)
    if not form.org.data:
        form.org.data = next((o.id for o in orgs if o.kind == OrgKind.COMMUNITY), orgs[0].id)
    return render_template("exchange/item_form.html", form=form, item=None)


@bp.route("/manage/items/<int:item_id>", methods=["GET", "POST"])
def edit(item_id: int):
    it = get_or_404(ExchangeItem, item_id, lambda i: i.can_manage(current_user))
    orgs = [it.org]
    form = _item_form(orgs, it)
    if form.is_submitted():
        return _save(form, it, orgs)
    return render_template("exchange/item_form.html", form=form, item=it)


STATUS_FILTERS = [s.value for s in RequestStatus]


def _render_queue(errors: dict | None = None, status_code: int = 200):
    status = request.args.get("status", RequestStatus.REQUESTED.value)
    if status not in STATUS_FILTERS and status != "all":
        status = RequestStatus.REQUESTED.value
    return render_template("exchange/queue.html", status=status, statuses=list(RequestStatus),
                           page=queries.request_queue(current_user,
                                                      None if status == "all" else status,
                                                      _page(), _size()),
                           errors=errors or {}, note_form=NoteForm()), status_code


@bp.route("/manage/requests")
def queue():
    _staff()
    return _render_queue()


def _managed_request(request_id: int) -> ExchangeRequest:
    return get_or_404(ExchangeRequest, request_id, lambda r: r.item.can_manage(current_user))


def _act(req: ExchangeRequest, action, done: str):
    try:
        action()
    except DomainError as e:
        db.session.rollback()
        return _render_queue({req.id: str(e.message)}, e.status)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("exchange.queue", status=request.args.get("status")))


@bp.route("/manage/requests/<int:request_id>/fulfil", methods=["POST"])
def fulfil(request_id: int):
    req = _managed_request(request_id)
    return _act(req, lambda: operations.fulfil_request(current_user, req),
                _("Fulfilled: the price was redeemed from the member's hours."))


def _with_note(req: ExchangeRequest, action, done: str):
    form = NoteForm()
    if not form.validate():
        return _render_queue({req.id: " ".join(str(e) for e in form.note.errors)}, 400)
    return _act(req, lambda: action(form.note.data), done)


@bp.route("/manage/requests/<int:request_id>/refuse", methods=["POST"])
def refuse(request_id: int):
    req = _managed_request(request_id)
    return _with_note(req, lambda note: operations.refuse_request(current_user, req, note),
                      _("Request refused; the item is back in stock."))


@bp.route("/manage/requests/<int:request_id>/refund", methods=["POST"])
def refund(request_id: int):
    req = _managed_request(request_id)
    return _with_note(req, lambda note: operations.refund_request(current_user, req, note),
                      _("Refunded: the hours are back with the member and the item in stock."))
