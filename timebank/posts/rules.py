"""Posts settings (district admins may change them on the settings page)."""
from __future__ import annotations

from timebank.core import settings

CHECKIN_MAX_DISTANCE = "posts.checkin_max_distance_m"

settings.declare(CHECKIN_MAX_DISTANCE, 500,
                 "A scan check-in further than this many metres from the post's place (when the "
                 "post has coordinates and the phone gave its position) is flagged for review.")
