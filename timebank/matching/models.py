"""Matcher runs and the proposals they store for staff to accept or reject.

A proposal pairs either a member with a post session (kind ``post``) or a resource with a demand
(kind ``demand``). ``reasons`` keeps why it was proposed (shared skills, distance tier, recent
load, availability slot, cost parts) as plain JSON, so the page can explain it later even after
the member's form changed. A rejected proposal is remembered: the matcher never proposes the same
member for the same post (or the same resource for the same demand) again.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.orgs.models import OrgNode


class ProposalKind(enum.StrEnum):
    POST = "post"
    DEMAND = "demand"


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: A later run in the same scope replaced it before anyone decided.
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return str(PROPOSAL_STATUS_LABELS[self])


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.PROPOSED: _l("Awaiting decision"),
    ProposalStatus.ACCEPTED: _l("Accepted"),
    ProposalStatus.REJECTED: _l("Rejected"),
    ProposalStatus.SUPERSEDED: _l("Replaced by a later run"),
}


class RunOrigin(enum.StrEnum):
    CLI = "cli"
    WEB = "web"
    NIGHTLY = "nightly"
    SUGGEST = "suggest"
    DEMO = "demo"

    @property
    def label(self) -> str:
        return str(RUN_ORIGIN_LABELS[self])


RUN_ORIGIN_LABELS = {
    RunOrigin.CLI: _l("Command line"),
    RunOrigin.WEB: _l("Run by staff"),
    RunOrigin.NIGHTLY: _l("Nightly run"),
    RunOrigin.SUGGEST: _l("Suggestions for one post"),
    RunOrigin.DEMO: _l("Demo data"),
}


class MatchRun(db.Model):
    __tablename__ = "match_runs"
    __table_args__ = (
        CheckConstraint("origin IN ('cli', 'web', 'nightly', 'suggest', 'demo')",
                        name="origin_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The street or community whose posts and demands were matched; None = everything.
    scope_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The local date a nightly run served: one nightly run per date (a second is a no-op).
    nightly_for: Mapped[dt.date | None] = mapped_column(Date, unique=True)
    #: Figures: candidates, filled places, total cost, seconds per phase.
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    proposals: Mapped[int] = mapped_column(default=0)

    scope: Mapped[OrgNode | None] = relationship()
    actor: Mapped[User | None] = relationship()

    @property
    def candidates(self) -> int:
        """member x session plus resource x demand pairings weighed (see RunResult.candidates)."""
        return int(self.stats.get("post_candidates", 0)) + int(self.stats.get("demand_candidates", 0))

    @property
    def origin_enum(self) -> RunOrigin:
        return RunOrigin(self.origin)


class Proposal(db.Model):
    __tablename__ = "match_proposals"
    __table_args__ = (
        CheckConstraint("kind IN ('post', 'demand')", name="kind_valid"),
        CheckConstraint("status IN ('proposed', 'accepted', 'rejected', 'superseded')",
                        name="status_valid"),
        CheckConstraint("kind <> 'post' OR (member_id IS NOT NULL AND session_id IS NOT NULL "
                        "AND post_id IS NOT NULL)", name="post_pair"),
        CheckConstraint("kind <> 'demand' OR (resource_id IS NOT NULL AND demand_id IS NOT NULL)",
                        name="demand_pair"),
        CheckConstraint("cost >= 0", name="cost_nonnegative"),
        Index("ix_match_proposals_community_id_status", "community_id", "status"),
        Index("ix_match_proposals_member_id_post_id", "member_id", "post_id"),
        Index("ix_match_proposals_resource_id_demand_id", "resource_id", "demand_id"),
        Index("ix_match_proposals_session_id_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id", ondelete="CASCADE"),
                                        index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: The community of the post or demand: whose staff decide.
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_sessions.id", ondelete="CASCADE"))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    cost: Mapped[int]
    #: Why: see ``scoring.Reasons.as_json``.
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.PROPOSED.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: What accepting produced: the claim, or the project the resource was assigned to.
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))

    run: Mapped[MatchRun] = relationship()
    community: Mapped[OrgNode] = relationship(lazy="joined")
    member = relationship("Member")
    post = relationship("Post")
    session = relationship("PostSession")
    resource = relationship("Resource")
    demand = relationship("Demand")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_enum(self) -> ProposalStatus:
        return ProposalStatus(self.status)

    @property
    def kind_enum(self) -> ProposalKind:
        return ProposalKind(self.kind)

    @property
    def is_open(self) -> bool:
        return self.status == ProposalStatus.PROPOSED

    def can_decide(self, user) -> bool:
        return self.community.can_manage(user)
