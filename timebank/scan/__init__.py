"""Scan to check in (扫码签到): the in-page QR scanner members use on a session's code and staff
use on members' personal codes (我的签到码), and those personal codes. The check-in itself is
``posts.operations.check_in`` / ``check_in_member``; this package reads codes and serves pages."""
