"""Named rejections of the three lists."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from timebank.core.errors import Conflict


class BadTransition(Conflict):
    code = "bad_transition"
    default_message = _l("This change of status is not allowed now.")


class AlreadyOwner(Conflict):
    code = "already_owner"
    default_message = _l("You have already claimed this project.")


class ProjectClosed(Conflict):
    code = "project_closed"
    default_message = _l("This project is completed or cancelled.")


class ResourceUsedUp(Conflict):
    code = "resource_used_up"
    default_message = _l("Nothing of this resource is left to assign.")
