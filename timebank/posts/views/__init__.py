"""Pages: members find, claim and check in; staff publish, take attendance and verify hours.

One blueprint (``posts``), defined in :mod:`.common`; :mod:`.member` and :mod:`.staff` add
their routes to it when imported here.
"""
from timebank.posts import ledger_checks  # noqa: F401  (connects to ledger verify)
from timebank.posts.views import member, staff  # noqa: F401  (registers the routes)
from timebank.posts.views.common import bp

__all__ = ["bp"]
