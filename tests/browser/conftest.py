import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))

from posts_fixtures import (catalogue, live_server, make_member, make_post,  # noqa: E402,F401
                            member_of)
