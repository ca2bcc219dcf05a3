"""Reads of the organisation tree."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode


def by_code(code: str) -> OrgNode | None:
    return db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalar_one_or_none()


def subtree(root: OrgNode, kinds: tuple[OrgKind, ...] | None = None,
            active_only: bool = False) -> list[OrgNode]:
    stmt = select(OrgNode).where(OrgNode.path.like(f"{root.path}%"))
    if kinds:
        stmt = stmt.where(OrgNode.kind.in_([k.value for k in kinds]))
    if active_only:
        stmt = stmt.where(OrgNode.active.is_(True))
    return list(db.session.execute(stmt.order_by(OrgNode.path)).scalars())


def subtree_ids(root: OrgNode, kind: OrgKind | None = None):
    """A subquery of ids under ``root`` (inclusive), for ``IN (...)`` filters."""
    stmt = select(OrgNode.id).where(OrgNode.path.like(f"{root.path}%"))
    if kind is not None:
        stmt = stmt.where(OrgNode.kind == kind.value)
    return stmt


def get_in_scope(node_id: int, user) -> OrgNode | None:
    """The node if ``user`` manages it, else None (callers answer 404, not 403)."""
    node = db.session.get(OrgNode, node_id)
    if node is None or not node.can_manage(user):
        return None
    return node


def tree_for(user) -> list[tuple[OrgNode, list]]:
    """The nodes the user manages, nested: [(node, [(child, [...]), ...]), ...]."""
    roots = user.scope_roots()
    out = []
    for root in sorted(roots, key=lambda n: n.path):
        nodes = subtree(root)
        children: dict[int, list[OrgNode]] = defaultdict(list)
        for n in nodes:
            if n.parent_id is not None:
                children[n.parent_id].append(n)

        def build(n: OrgNode):
            kids = sorted(children.get(n.id, []), key=lambda c: (c.kind != OrgKind.STREET, c.code))
            return (n, [build(c) for c in kids])

        out.append(build(root))
    return out


def move_targets(node: OrgNode, user) -> list[OrgNode]:
    """Where ``user`` could move ``node``: parents of an allowed kind that they manage."""
    from timebank.orgs.models import ALLOWED_PARENTS

    kinds = [k.value for k in ALLOWED_PARENTS[node.org_kind]]
    candidates = []
    for root in user.scope_roots():
        stmt = select(OrgNode).where(
            OrgNode.path.like(f"{root.path}%"), OrgNode.kind.in_(kinds), OrgNode.active.is_(True)
        )
        candidates.extend(db.session.execute(stmt.order_by(OrgNode.code)).scalars())
    return [c for c in candidates if not c.is_within(node) and c.id != node.parent_id]
