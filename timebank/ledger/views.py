"""Time-bank pages: a member's balance and statement (with exports), relays by the member,
redemptions recorded by staff, family members, a transaction and its reversal, totals for staff
and the regional rules for district admins."""
from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from timebank.accounts import operations as accounts
from timebank.core import nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError, Invalid
from timebank.core.limits import export_limit
from timebank.core.validators import mask_phone
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.core import figures as measures
from timebank.ledger import exports, operations, queries, rules
from timebank.ledger.forms import (BeneficiaryForm, RedeemForm, RelayForm, ReverseForm,
                                   RulesForm)
from timebank.ledger.models import Account, Beneficiary, Transaction
from timebank.ledger.util import format_hours, hours_to_minutes, mask_name
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

nav.register(_l("My time bank"), "ledger.mine", lambda u: u.is_member, order=25)
nav.register(_l("Time bank"), "ledger.overview", lambda u: u.is_staff, order=60)

PER_PAGE = 20


@bp.app_template_filter("ledger_hours")
def ledger_hours(minutes: int | None, signed: bool = False) -> str:
    """Minutes as hours for people (the one formatter, one decimal), signed if asked."""
    text = format_hours(minutes or 0)
    return f"+{text}" if signed and (minutes or 0) > 0 else text


def _field_error(form, e: DomainError, default: str) -> None:
    field = getattr(form, e.details.get("field", default), None) or getattr(form, default)
    field.errors = list(field.errors) + [str(e.message)]


def _form_minutes(field) -> int:
    minutes = hours_to_minutes(Decimal(field.data))
    if minutes is None or minutes <= 0:
        raise Invalid(_("Enter hours in whole minutes, e.g. 1.5 for 90 minutes."),
                      field=field.short_name)
    return minutes


def _is_self(member: Member) -> bool:
    return current_user.id == member.user_id


def _member_in_scope(member_id: int) -> Member:
    # The member and staff managing their community; anyone else gets 404 (no id probing).
    return get_or_404(Member, member_id,
                      lambda m: _is_self(m) or m.community.can_manage(current_user))


# --- a member's page ---------------------------------------------------------------------------

@bp.route("/")
def mine():
    member = db.session.execute(
        select(Member).where(Member.user_id == current_user.id)).scalar_one_or_none()
    if member is not None:
        return redirect(url_for("ledger.member", member_id=member.id))
    require(current_user.is_staff)
    return redirect(url_for("ledger.overview"))


def _pool_choices(member: Member) -> list[SelectChoice]:
    current = rules.current()
    if current.relay_recipients == rules.RECIPIENTS_SAME_COMMUNITY:
        return [SelectChoice(member.community.id, member.community.full_name)]
    district = db.session.get(OrgNode, member.community.ancestor_ids[0])
    communities = db.session.execute(
        select(OrgNode).where(OrgNode.path.like(f"{district.path}%"),
                              OrgNode.kind == OrgKind.COMMUNITY, OrgNode.active.is_(True))
        .order_by(OrgNode.path)).scalars()
    return [SelectChoice(c.id, c.full_name) for c in communities]


def _beneficiary_choices(member: Member) -> list[SelectChoice]:
    return [SelectChoice(0, _("The member (%(name)s)", name=member.user.name))] + [
        SelectChoice(b.id, f"{b.name}（{b.relation}）") for b in queries.beneficiaries(member)]


def _prepare(form, member: Member):
    if isinstance(form, RelayForm):
        form.community.choices = _pool_choices(member)
        if rules.current().relay_recipients == rules.RECIPIENTS_POOLS:
            form.target.choices = [c for c in form.target.choices if c.value == "pool"]
    if isinstance(form, RedeemForm):
        form.beneficiary.choices = _beneficiary_choices(member)
    if hasattr(form, "token") and not form.token.data:
        form.token.data = uuid.uuid4().hex
    return form


def _render_member(member: Member, relay_form=None, redeem_form=None, beneficiary_form=None,
                   status: int = 200):
    is_self = _is_self(member)
    can_redeem = member.can_manage(current_user)
    account = queries.account_for_member(member)
    current = rules.current()
    relay_form = _prepare(relay_form or RelayForm(prefix="relay"), member) if is_self else None
    redeem_form = (_prepare(redeem_form or RedeemForm(prefix="redeem"), member)
                   if can_redeem else None)
    beneficiary_form = beneficiary_form or BeneficiaryForm(prefix="family")
    page = queries.statement(member, page_arg(), PER_PAGE)
    return render_template(
        "ledger/member.html", member=member, figures=queries.member_figures(member),
        verified_minutes=measures.value("verified_service_minutes", member=member),
        historical_minutes=measures.value("historical_minutes", member=member),
        page=page, relay_form=relay_form, redeem_form=redeem_form,
        beneficiary_form=beneficiary_form, beneficiaries=queries.beneficiaries(member),
        can_manage_family=operations.can_manage_beneficiaries(current_user, member),
        rules=current, recipient_labels=rules.RECIPIENT_CHOICES,
        relayed=operations.relayed_this_year(account.id) if account else 0,
    ), status


@bp.route("/members/<int:member_id>")
def member(member_id: int):
    return _render_member(_member_in_scope(member_id))


@bp.route("/members/<int:member_id>/statement.xlsx")
@export_limit
def export_xlsx(member_id: int):
    member = _member_in_scope(member_id)
    data = exports.statement_xlsx(member)
    return send_file(data, as_attachment=True,
                     download_name=_("time-bank-statement-%(name)s.xlsx", name=member.user.name),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/members/<int:member_id>/statement.pdf")
@export_limit
def export_pdf(member_id: int):
    member = _member_in_scope(member_id)
    data = exports.statement_pdf(member)
    return send_file(data, as_attachment=True, mimetype="application/pdf",
                     download_name=_("time-bank-statement-%(name)s.pdf", name=member.user.name))


# --- relay (by the member) ---------------------------------------------------------------------

def _relay_target(form: RelayForm, member: Member):
    """(to_member, to_pool_community, label for the confirmation)."""
    if form.target.data == "pool":
        community = db.session.get(OrgNode, form.community.data or 0)
        if community is None:
            raise Invalid(_("Choose a community pool."), field="community")
        return None, community, _("%(name)s pool", name=community.full_name)
    user = accounts.find_by_phone(form.phone.data or "")
    recipient = None if user is None else db.session.execute(
        select(Member).where(Member.user_id == user.id)).scalar_one_or_none()
    if recipient is None:
        raise Invalid(_("No member has this mobile number."), field="phone")
    # The giver typed the number; show just enough of the name to confirm the right person.
    return recipient, None, f"{mask_name(recipient.user.name)}（{mask_phone(user.phone)}）"


@bp.route("/members/<int:member_id>/relay", methods=["POST"])
def relay(member_id: int):
    member = _member_in_scope(member_id)
    require(_is_self(member))
    form = _prepare(RelayForm(prefix="relay"), member)
    if form.validate_on_submit():
        try:
            minutes = _form_minutes(form.hours)
            to_member, pool, label = _relay_target(form, member)
            if form.confirm.data != "1":
                preview = operations.check_relay(current_user, member, minutes,
                                                 to_member=to_member, to_pool_community=pool)
                db.session.rollback()
                return render_template("ledger/relay_confirm.html", member=member, form=form,
                                       preview=preview, recipient=label)
            operations.relay(current_user, member, minutes, to_member=to_member,
                             to_pool_community=pool, reason=form.reason.data or "",
                             idempotency_key=form.token.data or None)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "hours")
        else:
            db.session.commit()
            flash(_("Thank you: %(hours)s hours relayed to %(to)s.",
                    hours=format_hours(minutes), to=label), "success")
            return redirect(url_for("ledger.member", member_id=member.id))
    form.confirm.data = ""
    return _render_member(member, relay_form=form, status=400)


# --- redemption (by staff) ---------------------------------------------------------------------

@bp.route("/members/<int:member_id>/redeem", methods=["POST"])
def redeem(member_id: int):
    member = _member_in_scope(member_id)
    require(member.can_manage(current_user))
    form = _prepare(RedeemForm(prefix="redeem"), member)
    if form.validate_on_submit():
        try:
            minutes = _form_minutes(form.hours)
            beneficiary = (db.session.get(Beneficiary, form.beneficiary.data)
                           if form.beneficiary.data else None)
            operations.redeem(current_user, member, minutes, beneficiary=beneficiary,
                              reason=form.reason.data, idempotency_key=form.token.data or None)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "hours")
        else:
            db.session.commit()
            flash(_("Redemption of %(hours)s hours recorded.", hours=format_hours(minutes)),
                  "success")
            return redirect(url_for("ledger.member", member_id=member.id))
    return _render_member(member, redeem_form=form, status=400)


# --- family members ----------------------------------------------------------------------------

@bp.route("/members/<int:member_id>/family", methods=["POST"])
def add_beneficiary(member_id: int):
    member = _member_in_scope(member_id)
    require(operations.can_manage_beneficiaries(current_user, member))
    form = BeneficiaryForm(prefix="family")
    if form.validate_on_submit():
        try:
            operations.add_beneficiary(current_user, member, form.name.data, form.relation.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "name")
        else:
            db.session.commit()
            flash(_("Family member added."), "success")
            return redirect(url_for("ledger.member", member_id=member.id))
    return _render_member(member, beneficiary_form=form, status=400)


@bp.route("/members/<int:member_id>/family/<int:beneficiary_id>/remove", methods=["POST"])
def remove_beneficiary(member_id: int, beneficiary_id: int):
    member = _member_in_scope(member_id)
    beneficiary = get_or_404(Beneficiary, beneficiary_id, lambda b: b.member_id == member.id)
    require(operations.can_manage_beneficiaries(current_user, member))
    operations.remove_beneficiary(current_user, beneficiary)
    db.session.commit()
    flash(_("Family member removed."), "success")
    return redirect(url_for("ledger.member", member_id=member.id))


# --- one transaction and its reversal ----------------------------------------------------------

def _can_view_transaction(tx: Transaction) -> bool:
    account_ids = [p.account_id for p in tx.postings]
    owners = set(db.session.execute(
        select(Member.user_id).join(Account, Account.member_id == Member.id)
        .where(Account.id.in_(account_ids))).scalars())
    if current_user.id in owners:
        return True
    return any(c.can_manage(current_user)
               for c in operations.communities_of_accounts(account_ids))


def _render_transaction(tx: Transaction, form=None, status: int = 200):
    labels = queries.account_labels([p.account_id for p in tx.postings])
    return render_template("ledger/transaction.html", tx=tx, labels=labels,
                           can_reverse=operations.can_reverse(current_user, tx)
                           and tx.reversed_by is None,
                           form=form or ReverseForm(prefix="reverse")), status


@bp.route("/transactions/<int:tx_id>")
def transaction(tx_id: int):
    return _render_transaction(get_or_404(Transaction, tx_id, _can_view_transaction))


@bp.route("/transactions/<int:tx_id>/reverse", methods=["POST"])
def reverse(tx_id: int):
    tx = get_or_404(Transaction, tx_id, _can_view_transaction)
    require(operations.can_reverse(current_user, tx))
    form = ReverseForm(prefix="reverse")
    if form.validate_on_submit():
        try:
            reversal = operations.reverse(current_user, tx, form.reason.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "reason")
        else:
            db.session.commit()
            flash(_("Reversed. The reversal is entry %(id)d.", id=reversal.id), "success")
            return redirect(url_for("ledger.transaction", tx_id=tx.id))
    return _render_transaction(tx, form, status=400)


# --- staff: totals, a community's pool and members ---------------------------------------------

@bp.route("/overview")
def overview():
    require(current_user.is_staff)
    sections = []
    for root in sorted(current_user.scope_roots(), key=lambda n: n.path):
        system = (queries.system_totals(root) if root.kind == OrgKind.DISTRICT else None)
        sections.append((root, queries.totals(root), system))
    return render_template("ledger/overview.html", sections=sections,
                           can_edit_rules=operations.can_edit_rules(current_user))


@bp.route("/communities/<int:community_id>")
def community(community_id: int):
    node = get_or_404(OrgNode, community_id, lambda n: n.kind == OrgKind.COMMUNITY
                      and n.can_manage(current_user))
    pool = queries.pool_account(node)
    members, figures = queries.community_members(node, page_arg(), 50)
    pool_page = queries.account_statement(pool.id if pool else None,
                                          page_arg("pool_page"), PER_PAGE)
    return render_template("ledger/community.html", community=node, pool=pool,
                           pool_page=pool_page, members=members, figures=figures)


# --- regional rules ----------------------------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
def edit_rules():
    require(operations.can_edit_rules(current_user))
    form = RulesForm(prefix="rules")
    form.relay_recipients.choices = [SelectChoice(k, str(v))
                                     for k, v in rules.RECIPIENT_CHOICES.items()]
    current = rules.current()
    if request.method == "GET":
        form.storage_cap.data = Decimal(current.storage_cap_minutes) / 60
        form.relay_recipients.data = current.relay_recipients
        form.relay_limit.data = Decimal(current.relay_yearly_limit_minutes) / 60
        form.group_donate_only.data = current.group_service_donate_only
    elif form.validate_on_submit():
        try:
            cap = _form_minutes(form.storage_cap)
            limit = (hours_to_minutes(Decimal(form.relay_limit.data))
                     if form.relay_limit.data else 0)
            if limit is None:
                raise Invalid(_("Enter hours in whole minutes, e.g. 1.5 for 90 minutes."),
                              field="relay_limit")
            operations.update_rules(current_user, storage_cap_minutes=cap,
                                    relay_recipients=form.relay_recipients.data,
                                    relay_yearly_limit_minutes=limit,
                                    group_service_donate_only=form.group_donate_only.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "storage_cap")
        else:
            db.session.commit()
            flash(_("The time-bank rules were saved."), "success")
            return redirect(url_for("ledger.edit_rules"))
    status = 400 if request.method == "POST" else 200
    return render_template("ledger/rules.html", form=form, rules=current), status
