"""The district catalogue of service categories and kinds (便民服务 / 爱心帮扶 / 文体艺术, and the
kinds within them). Posts are of a kind; members name the categories and kinds they are willing
to serve in; needs and resources are filed under them. It sits below members and posts so both
can refer to it."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.db import Bilingual
from timebank.extensions import db


class PostCategory(Bilingual, db.Model):
    """便民服务 / 爱心帮扶 / 文体艺术."""

    __tablename__ = "post_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    position: Mapped[int] = mapped_column(default=0)

    kinds: Mapped[list[PostKind]] = relationship(back_populates="category",
                                                 order_by="PostKind.position")


class PostKind(Bilingual, db.Model):
    __tablename__ = "post_kinds"
    __table_args__ = (UniqueConstraint("category_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("post_categories.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: Kinds added by a community's staff are offered only there; None = district catalogue.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[PostCategory] = relationship(back_populates="kinds", lazy="joined")
