"""Reads of the catalogue for forms, filters and imports."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from timebank.catalogue.models import PostCategory, PostKind
from timebank.extensions import db


def categories() -> list[PostCategory]:
    return list(db.session.execute(select(PostCategory).order_by(PostCategory.position))
                .scalars())


def kinds_for(community_ids: Sequence[int] | None = None) -> list[PostKind]:
    """Active kinds of the district catalogue plus those added by the given communities."""
    cond = PostKind.community_id.is_(None)
    if community_ids:
        cond = or_(cond, PostKind.community_id.in_(community_ids))
    return list(db.session.execute(
        select(PostKind).join(PostCategory).where(PostKind.active.is_(True), cond)
        .order_by(PostCategory.position, PostKind.position, PostKind.id)).scalars())
