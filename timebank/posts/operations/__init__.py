"""Every write on posts, sessions, claims, attendance and service records.

Every function takes the acting user (None = the system: CLI, scheduled jobs, demo data),
validates, changes rows and flushes; the caller commits once, and rolls back on a DomainError.

The functions live in one module per concern; callers use them from here
(``from timebank.posts import operations``):

* :mod:`.publishing`: posts and their sessions;
* :mod:`.claims`: claims and waiting lists (the capacity rule is explained there);
* :mod:`.attendance`: check-in, attendance, closing a session;
* :mod:`.records`: members' own reports, verification, rejection, withdrawal;
* :mod:`.common`: limits and checks they share.
"""
# Importing .records connects its handler of the ledger_reversed signal.
from timebank.posts.operations.common import (CHECKIN_OPENS, FAR_CHECKIN, MAX_DAY_MINUTES,
                                              REPORT_MAX_AGE, MAX_CAPACITY, MAX_CREDIT_MINUTES,
                                              path_for, same_street, member_may_see,
                                              upcoming_sessions)
from timebank.posts.operations.publishing import (PostData, skill_ids_of, create_post, update_post,
                                                  publish, close, cancel, cancel_session,
                                                  add_sessions, move_session)
from timebank.posts.operations.claims import (ClaimOutcome, claim, withdraw, join_waitlist,
                                              leave_waitlist, promote_waitlist)
from timebank.posts.operations.attendance import (CheckinResult, check_in, AttendanceOutcome,
                                                  mark_attendance, close_attendance, Position,
                                                  distance_m, set_location, check_in_member)
from timebank.posts.operations.records import (report_service, verify, BulkOutcome, verify_many,
                                               reject, revoke)

__all__ = [
    "CHECKIN_OPENS", "FAR_CHECKIN", "MAX_DAY_MINUTES", "REPORT_MAX_AGE", "MAX_CAPACITY",
    "MAX_CREDIT_MINUTES", "path_for", "same_street", "member_may_see", "upcoming_sessions",
    "PostData", "skill_ids_of", "create_post", "update_post", "publish", "close", "cancel",
    "cancel_session", "add_sessions", "move_session", "ClaimOutcome", "claim", "withdraw",
    "join_waitlist", "leave_waitlist", "promote_waitlist", "CheckinResult", "check_in",
    "AttendanceOutcome", "mark_attendance", "close_attendance", "report_service", "verify",
    "BulkOutcome", "verify_many", "reject", "revoke", "Position", "distance_m", "set_location",
    "check_in_member",
]
