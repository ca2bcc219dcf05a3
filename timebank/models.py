"""Imports every feature's models so the metadata (and Alembic) sees all tables."""
from timebank.accounts.models import RoleAssignment, User  # noqa: F401
from timebank.api.models import ApiToken  # noqa: F401
from timebank.audit.models import AuditEvent  # noqa: F401
from timebank.catalogue.models import PostCategory, PostKind  # noqa: F401
from timebank.certificates.models import Certificate  # noqa: F401
from timebank.core.settings import Setting  # noqa: F401
from timebank.exchange.models import ExchangeItem, ExchangeRequest  # noqa: F401
from timebank.inbox.models import Message  # noqa: F401
from timebank.jobs.models import JobRequest, JobRun  # noqa: F401
from timebank.ledger.models import Account, Posting, Transaction  # noqa: F401
from timebank.lists.models import Demand, Project, Resource  # noqa: F401
from timebank.matching.models import MatchRun, Proposal  # noqa: F401
from timebank.members.models import Member, MemberProfile, Skill, UnitReport  # noqa: F401
from timebank.notify.models import Delivery, DeliveryPreference  # noqa: F401
from timebank.orgs.models import OrgNode  # noqa: F401
from timebank.posts.models import (Claim, Post, PostSession, ServiceRecord,  # noqa: F401
                                   WaitlistEntry)
from timebank.recognition.models import (AwardList, AwardNominee,  # noqa: F401
                                         AwardObjection, RankingSnapshot,
                                         RankingSnapshotEntry, ServiceYearTotal)
from timebank.reports.models import FeedbackCard, MemberEvaluation  # noqa: F401
from timebank.units.models import (Agreement, Commitment, Fulfilment,  # noqa: F401
                                   RosterEntry)
from timebank.teams.models import (Team, TeamClaim, TeamClaimPlace,  # noqa: F401
                                   TeamMembership)
