"""The street and district admin's home: headline figures against last month, the communities
that lag behind, the recognition lists in public notice (公示), and failed scheduled jobs.

Headline figures are the named measures (``timebank.measures``); the community rates are the
dashboard's own rows (``reports.dashboard``), so the home and the dashboard it links to show the
same percentages; the notices are the award lists the admin may see; failed jobs are the jobs
whose latest run failed (the jobs page's "last run")."""
from __future__ import annotations

import dataclasses

from timebank.accounts.models import Role
from timebank.core import clock
from timebank.extensions import db
from timebank.home.liaison import Figure, month_figures
from timebank.jobs import queries as jobs
from timebank.jobs.models import JobRun, RunOutcome
from timebank.orgs.models import OrgNode
from timebank.recognition import queries as recognition
from timebank.recognition.models import AwardList, ListStatus
from timebank.reports import dashboard
from timebank.reports.dashboard import OrgFigures

#: Communities listed for each of the two lowest rates.
LOWEST_SHOWN = 3


@dataclasses.dataclass(frozen=True)
class Notice:
    award_list: AwardList
    open_objections: int


@dataclasses.dataclass
class ScopeHome:
    role: Role
    scope: OrgNode
    figures: list[Figure]
    lowest_reported: list[OrgFigures]
    lowest_active: list[OrgFigures]
    notices: list[Notice]


@dataclasses.dataclass(frozen=True)
class FailedJob:
    job_id: str
    title: str
    run: JobRun


def lowest(rows: list[OrgFigures], rate: str, n: int = LOWEST_SHOWN) -> list[OrgFigures]:
    """The ``n`` communities with the lowest ``rate``, among those where it is defined and
    below 100% (a community at 100% lags behind nobody)."""
    defined = [r for r in rows if getattr(r, rate) is not None and getattr(r, rate) < 1]
    return sorted(defined, key=lambda r: (getattr(r, rate), r.name))[:n]


def notices(user, scope: OrgNode) -> list[Notice]:
    """Award lists under ``scope`` in public notice now, the notice ending soonest first."""
    now = clock.now()
    lists = db.session.execute(
        recognition.lists_for(user).where(AwardList.status == ListStatus.PUBLISHED.value,
                                          AwardList.notice_ends_at > now)
        .order_by(None).order_by(AwardList.notice_ends_at, AwardList.id)).scalars()
    return [Notice(a, recognition.open_objection_count(a)) for a in lists
            if a.scope.is_within(scope)]


def scope_home(user, role: Role, scope: OrgNode) -> ScopeHome:
    d = dashboard.build(scope, clock.today().year)
    return ScopeHome(role=role, scope=scope, figures=month_figures(scope),
                     lowest_reported=lowest(d.communities, "reported_rate"),
                     lowest_active=lowest(d.communities, "active_rate"),
                     notices=notices(user, scope))


def admin_homes(user) -> list[ScopeHome]:
    """One per street, then per district the user administers (the street is nearer the
    work)."""
    out = []
    for role in (Role.STREET_ADMIN, Role.DISTRICT_ADMIN):
        for node in sorted(user.role_nodes(role), key=lambda n: n.path):
            out.append(scope_home(user, role, node))
    return out


def failed_jobs() -> list[FailedJob]:
    """Jobs whose latest run failed, most recent first (only district admins see jobs)."""
    from timebank.jobs.views import title
    from timebank.jobs import table

    last = jobs.last_runs()
    out = [FailedJob(j.id, title(j), last[j.id]) for j in table.JOBS
           if j.id in last and last[j.id].outcome == RunOutcome.FAILED.value]
    return sorted(out, key=lambda f: f.run.started_at, reverse=True)


def sees_jobs(user) -> bool:
    return user.has_role(Role.DISTRICT_ADMIN)

