"""Admin page for district admins: the job table, next runs, recent runs and failures, and
"run now" (which queues a request for the scheduler process; the web worker runs nothing)."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.accounts.models import Role
from timebank.core import clock, nav
from timebank.core.access import require
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.jobs import operations, queries, table

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _is_district_admin(user) -> bool:
    return user.has_role(Role.DISTRICT_ADMIN)


nav.register(_l("Scheduled jobs"), "jobs.index", _is_district_admin, order=95)

#: What each job is called on the page (the job table keeps English descriptions for logs).
TITLES = {
    "posts.remind_tomorrow": _l("Reminders for tomorrow's claimed sessions"),
    "posts.close_past_deadline": _l("Close posts past their claim deadline"),
    "posts.mark_no_shows": _l("Mark no-shows after sessions end"),
    "posts.promote_waiting": _l("Promote waiting lists"),
    "matching.nightly": _l("Nightly matcher run"),
    "ledger.verify": _l("Nightly ledger verification"),
    "feedback.monthly_cards": _l("Monthly performance feedback cards"),
    "recognition.year_end": _l("Year-end recognition snapshot"),
    "notify.send_due": _l("Deliver messages (e-mail, WeCom, SMS)"),
}


def title(job) -> str:
    return str(TITLES.get(job.id, job.description))


def _job_or_404(job_id: str):
    job = table.get_job(job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/")
def index():
    require(_is_district_admin(current_user))
    now = clock.now()
    last = queries.last_runs()
    rows = [{"job": j, "title": title(j), "next": table.next_fire_time(j, now),
             "last": last.get(j.id)} for j in table.JOBS]
    return render_template("jobs/index.html", rows=rows, failures=queries.recent_failures(),
                           requests=queries.recent_requests(), titles=TITLES)


@bp.route("/<job_id>")
def detail(job_id: str):
    require(_is_district_admin(current_user))
    job = _job_or_404(job_id)
    page = db.paginate(queries.recent_runs(job.id), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    now = clock.now()
    return render_template("jobs/detail.html", job=job, title=title(job), page=page,
                           next=table.next_fire_time(job, now),
                           period=table.latest_fire_time(job, now))


@bp.route("/<job_id>/run", methods=["POST"])
def run_now(job_id: str):
    require(_is_district_admin(current_user))
    job = _job_or_404(job_id)
    period = table.latest_fire_time(job, clock.now())
    if period is None:
        abort(404)
    operations.request_run(current_user, job.id, period)
    db.session.commit()
    flash(_("Queued: the scheduler will run %(job)s for the period of %(period)s within a few "
            "seconds.", job=title(job), period=clock.to_local(period).strftime("%Y-%m-%d %H:%M")),
          "success")
    return redirect(url_for("jobs.detail", job_id=job.id))
