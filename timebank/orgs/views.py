"""The organisation tree and role assignment pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import select

from timebank.accounts import operations as accounts
from timebank.accounts.forms import AssignRoleForm
from timebank.accounts.models import Role, RoleAssignment
from timebank.core import nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.extensions import db
from timebank.orgs import operations, queries
from timebank.orgs.forms import AddChildForm, MoveForm, RenameForm
from timebank.orgs.models import ALLOWED_PARENTS, OrgKind, OrgNode

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

nav.register(_l("Organisations"), "orgs.tree", lambda u: u.is_staff, order=80)


def _node_in_scope(node_id: int) -> OrgNode:
    # Nodes outside the user's scope are 404: their existence is not revealed.
    return get_or_404(OrgNode, node_id, lambda n: n.can_manage(current_user))


@bp.route("/")
def tree():
    require(current_user.is_staff)
    return render_template("orgs/tree.html", forest=queries.tree_for(current_user))


def _child_kinds(node: OrgNode) -> list[OrgKind]:
    kinds = [k for k, parents in ALLOWED_PARENTS.items() if node.org_kind in parents]
    if not current_user.administers(node):
        kinds = [k for k in kinds if k == OrgKind.GRID]
    return kinds


def _role_choices(node: OrgNode) -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role if current_user.can_assign(r, node)]


def _render_node(node: OrgNode, add_form=None, rename_form=None, move_form=None, role_form=None,
                 status: int = 200):
    add_form = add_form or AddChildForm(prefix="add")
    add_form.kind.choices = [(k.value, k.label) for k in _child_kinds(node)]
    rename_form = rename_form or RenameForm(prefix="rename", data={"name": node.name})
    move_form = move_form or MoveForm(prefix="move")
    move_form.parent_id.choices = [(p.id, f"{p.full_name} ({p.code})")
                                   for p in queries.move_targets(node, current_user)]
    role_form = role_form or AssignRoleForm(prefix="role")
    role_form.role.choices = _role_choices(node)
    children = db.session.execute(
        select(OrgNode).where(OrgNode.parent_id == node.id).order_by(OrgNode.kind, OrgNode.code)
    ).scalars().all()
    assignments = db.session.execute(
        select(RoleAssignment).where(RoleAssignment.org_id == node.id,
                                     RoleAssignment.role != Role.MEMBER.value)
        .order_by(RoleAssignment.role, RoleAssignment.id)
    ).scalars().all()
    return render_template(
        "orgs/node.html", node=node, children=children, assignments=assignments,
        add_form=add_form, rename_form=rename_form, move_form=move_form, role_form=role_form,
        can_restructure=node.can_restructure(current_user),
    ), status


@bp.route("/<int:node_id>")
def node(node_id: int):
    return _render_node(_node_in_scope(node_id))


@bp.route("/<int:node_id>/children", methods=["POST"])
def add_child(node_id: int):
    node = _node_in_scope(node_id)
    form = AddChildForm(prefix="add")
    form.kind.choices = [(k.value, k.label) for k in _child_kinds(node)]
    require(bool(form.kind.choices))
    if form.validate_on_submit():
        try:
            child = operations.create_node(current_user, node, form.kind.data, form.name.data,
                                           form.code.data or None)
        except DomainError as e:
            db.session.rollback()
            getattr(form, e.details.get("field", "name"), form.name).errors.append(str(e.message))
        else:
            db.session.commit()
            flash(_("Added %(name)s (%(code)s).", name=child.name, code=child.code), "success")
            return redirect(url_for("orgs.node", node_id=node.id))
    return _render_node(node, add_form=form, status=400)


@bp.route("/<int:node_id>/rename", methods=["POST"])
def rename(node_id: int):
    node = _node_in_scope(node_id)
    form = RenameForm(prefix="rename")
    if form.validate_on_submit():
        try:
            operations.rename_node(current_user, node, form.name.data)
        except DomainError as e:
            db.session.rollback()
            form.name.errors.append(str(e.message))
        else:
            db.session.commit()
            flash(_("Renamed."), "success")
            return redirect(url_for("orgs.node", node_id=node.id))
    return _render_node(node, rename_form=form, status=400)


@bp.route("/<int:node_id>/move", methods=["POST"])
def move(node_id: int):
    node = _node_in_scope(node_id)
    require(node.can_restructure(current_user))
    form = MoveForm(prefix="move")
    form.parent_id.choices = [(p.id, p.name) for p in queries.move_targets(node, current_user)]
    if form.validate_on_submit():
        # The choices above hold only targets in scope, so a guessed id fails validation.
        target = db.session.get(OrgNode, form.parent_id.data)
        try:
            operations.move_node(current_user, node, target)
        except DomainError as e:
            db.session.rollback()
            form.parent_id.errors.append(str(e.message))
        else:
            db.session.commit()
            flash(_("Moved."), "success")
            return redirect(url_for("orgs.node", node_id=node.id))
    return _render_node(node, move_form=form, status=400)


@bp.route("/<int:node_id>/active", methods=["POST"])
def set_active(node_id: int):
    node = _node_in_scope(node_id)
    require(node.can_restructure(current_user))
    active = request.form.get("active") == "1"
    try:
        operations.set_active(current_user, node, active)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("Reactivated.") if active else _("Deactivated."), "success")
    return redirect(url_for("orgs.node", node_id=node.id))


def _keep_own_session(user) -> None:
    """A role change ends the user's sessions; one who changed their own keeps this one."""
    if user.id == current_user.id:
        login_user(current_user._get_current_object())


@bp.route("/<int:node_id>/roles", methods=["POST"])
def assign_role(node_id: int):
    node = _node_in_scope(node_id)
    form = AssignRoleForm(prefix="role")
    form.role.choices = _role_choices(node)
    require(bool(form.role.choices))
    if form.validate_on_submit():
        try:
            user = accounts.find_by_phone(form.phone.data)
            if user is None:
                if not form.name.data or not form.password.data:
                    raise DomainError(_("This number has no account yet: enter a name and an "
                                        "initial password to create one."), field="name")
                user = accounts.create_user(current_user, form.phone.data, form.name.data,
                                            form.password.data)
            accounts.grant_role(current_user, user, form.role.data, node)
        except DomainError as e:
            db.session.rollback()
            field = getattr(form, e.details.get("field", "phone"), None) or form.phone
            field.errors.append(str(e.message))
        else:
            db.session.commit()
            _keep_own_session(user)
            flash(_("Role assigned to %(name)s.", name=user.name), "success")
            return redirect(url_for("orgs.node", node_id=node.id))
    return _render_node(node, role_form=form, status=400)


@bp.route("/<int:node_id>/roles/<int:assignment_id>/revoke", methods=["POST"])
def revoke_role(node_id: int, assignment_id: int):
    node = _node_in_scope(node_id)
    assignment = get_or_404(RoleAssignment, assignment_id, lambda a: a.org_id == node.id)
    user = assignment.user
    try:
        accounts.revoke_role(current_user, assignment)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        _keep_own_session(user)
        flash(_("Role removed."), "success")
    return redirect(url_for("orgs.node", node_id=node.id))
