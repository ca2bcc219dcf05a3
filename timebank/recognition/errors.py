"""Named rejections of recognition operations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from timebank.core.errors import Conflict


class ListExists(Conflict):
    code = "award_list_exists"
    default_message = _l("A list of this award for this year and organisation already exists.")


class ListFrozen(Conflict):
    code = "award_list_frozen"
    default_message = _l("The final list is frozen and can no longer change.")


class WrongListStatus(Conflict):
    code = "award_list_status"
    default_message = _l("The list is not in a state that allows this.")


class NoticeClosed(Conflict):
    code = "notice_closed"
    default_message = _l("The public notice period is over; objections are no longer accepted.")


class NoticeNotOver(Conflict):
    code = "notice_not_over"
    default_message = _l("The public notice period has not ended yet.")


class OpenObjections(Conflict):
    code = "open_objections"
    default_message = _l("Resolve every open objection before freezing the list.")


class DuplicateObjection(Conflict):
    code = "duplicate_objection"
    default_message = _l("You already have an open objection to this nominee.")
