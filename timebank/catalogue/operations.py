"""Writes to the catalogue: a community's own kinds, and loading the district catalogue."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from timebank.audit import operations as audit
from timebank.catalogue.models import PostCategory, PostKind
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode


def _check(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def add_kind(actor, community: OrgNode, category: PostCategory, name: str,
             name_en: str = "") -> PostKind:
    """A kind offered only in ``community`` (the district catalogue stays as it is)."""
    if community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("Kinds are added for a community."), field="community")
    _check(actor is None or community.can_manage(actor))
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Invalid(_l("A name of 1-50 characters is required."), field="name")
    taken = db.session.execute(select(PostKind.id).where(
        PostKind.category_id == category.id, PostKind.name == name)).first()
    if taken:
        raise Invalid(_l("This kind already exists in the category."), field="name")
    n = db.session.execute(select(func.count()).select_from(PostKind).where(
        PostKind.community_id == community.id)).scalar_one()
    position = db.session.execute(select(func.coalesce(func.max(PostKind.position), 0)).where(
        PostKind.category_id == category.id)).scalar_one() + 1
    kind = PostKind(category_id=category.id, code=f"c{community.id}-{n + 1:02d}", name=name,
                    name_en=(name_en or "").strip()[:80], position=position,
                    community_id=community.id, active=True)
    db.session.add(kind)
    db.session.flush()
    audit.record(actor, "post_kind.create", "post_kind", kind.id, name=name,
                 community=community.code)
    return kind


def ensure_catalogue(catalogue) -> int:
    """Load the district catalogue ``[(code, name, name_en, [(kind, kind_en), ...]), ...]`` where
    missing; returns the number of kinds added (0 on a second run)."""
    added = 0
    for pos, (code, name, name_en, kinds) in enumerate(catalogue):
        cat = db.session.execute(select(PostCategory).where(PostCategory.code == code)
                                 ).scalar_one_or_none()
        if cat is None:
            cat = PostCategory(code=code, name=name, name_en=name_en, position=pos)
            db.session.add(cat)
            db.session.flush()
        for kpos, (kname, kname_en) in enumerate(kinds):
            kcode = f"{code}-{kpos + 1:02d}"
            if db.session.execute(select(PostKind.id).where(PostKind.code == kcode)).first():
                continue
            db.session.add(PostKind(category_id=cat.id, code=kcode, name=kname,
                                    name_en=kname_en, position=kpos))
            added += 1
    db.session.flush()
    return added
