import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "posts"))
sys.path.insert(0, str(HERE))  # scan_helpers

from posts_fixtures import (catalogue, make_member, make_post,  # noqa: E402,F401
                            member_of)
