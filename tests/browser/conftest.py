import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))

from posts_fixtures import (catalogue, live_server, make_member, make_post,  # noqa: E402,F401
                            member_of)


import pytest  # noqa: E402

from tests.browser.phone_browser import chromium  # noqa: E402


@pytest.fixture
def browser():
    """Headless Chromium for one test."""
    with chromium() as b:
        yield b
