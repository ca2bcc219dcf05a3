import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))

from posts_fixtures import catalogue, make_member, make_post, member_of  # noqa: E402,F401


@pytest.fixture
def token_for(db):
    """``token_for(user)`` -> a bearer token issued directly (no login round trip)."""
    from timebank.api import operations

    def issue(user):
        raw, _token = operations.issue(user)
        db.session.commit()
        return raw

    return issue


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


@pytest.fixture
def live_server(app):
    """The app served by werkzeug in a thread (real sockets, one thread per request)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
