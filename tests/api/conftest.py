import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))

from posts_fixtures import (catalogue, live_server, make_member, make_post,  # noqa: E402,F401
                            member_of)


@pytest.fixture
def api(client, token_for):
    """``api(user)`` -> a client whose requests carry the user's bearer token."""

    class Api:
        def __init__(self, user):
            self.headers = {"Authorization": f"Bearer {token_for(user)}"}

        def get(self, url, **kw):
            return client.get(url, headers=self.headers, **kw)

        def post(self, url, json=None, **kw):
            return client.open(url, method="POST", json=json, headers=self.headers, **kw)

        def delete(self, url, **kw):
            return client.open(url, method="DELETE", headers=self.headers, **kw)

    return Api
