"""Writes to the organisation tree. Each takes the acting user (None = the system, e.g. the
CLI), validates, flushes and never commits."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, func, literal, select, update

from timebank.audit import operations as audit
from timebank.core.errors import Forbidden, Invalid
from timebank.core.validators import clean_text
from timebank.extensions import db
from timebank.orgs.models import ALLOWED_PARENTS, OrgKind, OrgNode

#: Code layout follows the national statistical division codes: a street is its district's
#: code plus 3 digits, a community its street's plus 3, a grid its community's plus "-" and 2.
_CODE_SUFFIX = {
    OrgKind.STREET: ("", 3),
    OrgKind.COMMUNITY: ("", 3),
    OrgKind.GRID: ("-", 2),
}


def _check(actor, allowed: bool) -> None:
    if actor is not None and not allowed:
        raise Forbidden()


def _clean_name(name: str) -> str:
    name = clean_text(name)
    if not name:
        raise Invalid(_l("A name is required."), field="name")
    if len(name) > 100:
        raise Invalid(_l("The name is too long (at most 100 characters)."), field="name")
    return name


def next_code(parent: OrgNode | None, kind: OrgKind) -> str:
    if kind == OrgKind.UNIT:
        prefix, width = "U", 4
        root = ""
    else:
        sep, width = _CODE_SUFFIX.get(kind, ("", 2))
        root = parent.code if parent is not None else ""
        prefix = f"{root}{sep}"
    existing = set(
        db.session.execute(
            select(OrgNode.code).where(OrgNode.code.like(f"{prefix}%"))
        ).scalars()
    )
    n = 1
    while f"{prefix}{n:0{width}d}" in existing:
        n += 1
    return f"{prefix}{n:0{width}d}"


def _validate_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        raise Invalid(_l("A code is 1-32 letters, digits, '-' or '_'."), field="code")
    if db.session.execute(select(OrgNode.id).where(OrgNode.code == code)).first():
        raise Invalid(_l("This code is already used by another organisation."), field="code")
    return code


def create_node(actor, parent: OrgNode | None, kind: OrgKind | str, name: str,
                code: str | None = None) -> OrgNode:
    kind = OrgKind(kind)
    if parent is None:
        if kind != OrgKind.DISTRICT:
            raise Invalid(_l("Only a district may be at the top of the tree."), field="parent")
        _check(actor, False)  # districts are made from the CLI only
    else:
        if parent.org_kind not in ALLOWED_PARENTS[kind]:
            raise Invalid(
                _l("A %(kind)s cannot be placed under a %(parent)s.", kind=kind.label,
                   parent=parent.org_kind.label),
                field="parent",
            )
        if not parent.active:
            raise Invalid(_l("Cannot add to a deactivated organisation."), field="parent")
        _check(actor, actor is not None and (
            actor.administers(parent) or (kind == OrgKind.GRID and actor.manages(parent))
        ))
    node = OrgNode(
        name=_clean_name(name),
        kind=kind.value,
        parent=parent,
        parent_id=parent.id if parent else None,
        code=_validate_code(code) if code else next_code(parent, kind),
        path="",
        active=True,
    )
    db.session.add(node)
    db.session.flush()
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    db.session.flush()
    audit.record(actor, "org.create", "org", node.id, code=node.code, name=node.name)
    return node


def rename_node(actor, node: OrgNode, name: str) -> None:
    _check(actor, node.can_manage(actor) if actor is not None else True)
    old = node.name
    node.name = _clean_name(name)
    db.session.flush()
    audit.record(actor, "org.rename", "org", node.id, old=old, new=node.name)


def move_node(actor, node: OrgNode, new_parent: OrgNode) -> None:
    if actor is not None:
        _check(actor, node.can_restructure(actor) and new_parent.can_manage(actor))
    if new_parent.org_kind not in ALLOWED_PARENTS[node.org_kind]:
        raise Invalid(
            _l("A %(kind)s cannot be placed under a %(parent)s.", kind=node.org_kind.label,
               parent=new_parent.org_kind.label),
            field="parent",
        )
    if new_parent.is_within(node):
        raise Invalid(_l("A node cannot be moved below itself."), field="parent")
    if not new_parent.active:
        raise Invalid(_l("Cannot move into a deactivated organisation."), field="parent")
    if new_parent.id == node.parent_id:
        return
    old_path, old_parent = node.path, node.parent
    new_path = f"{new_parent.path}{node.id}/"
    # Rewrite the prefix of the whole subtree in one statement.
    db.session.execute(
        update(OrgNode)
        .where(OrgNode.path.like(f"{old_path}%"))
        .values(path=literal(new_path, String) + func.substr(OrgNode.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    node.parent = new_parent
    node.parent_id = new_parent.id
    db.session.flush()
    db.session.expire_all()
    audit.record(actor, "org.move", "org", node.id, old_parent=old_parent.code if old_parent else None,
                 new_parent=new_parent.code)


def set_active(actor, node: OrgNode, active: bool) -> None:
    """Deactivate (or reactivate) a node. Deactivating hides the subtree from new work; nothing
    is deleted, because members, posts and ledger entries keep pointing at it."""
    if actor is not None:
        _check(actor, node.can_restructure(actor))
    if active and node.parent is not None and not node.parent.active:
        raise Invalid(_l("Reactivate the parent organisation first."))
    if active:
        node.active = True
    else:
        db.session.execute(
            update(OrgNode)
            .where(OrgNode.path.like(f"{node.path}%"))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        db.session.expire_all()
    db.session.flush()
    audit.record(actor, "org.activate" if active else "org.deactivate", "org", node.id)
