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


def _patch_hypothesis_jsonschema() -> None:
    """hypothesis-jsonschema 0.23 (the latest) drives Hypothesis' private ``many`` helper with
    ``.more()``/``.reject()``; recent Hypothesis only offers ``with many(...) as e: for _ in e``.
    Adapt the old calls to the new protocol, for this test process only."""
    import types

    from hypothesis.internal.conjecture import utils as cu
    from hypothesis_jsonschema import _from_schema

    if hasattr(cu.many, "more"):
        return
    end = object()

    class LegacyMany:
        def __init__(self, data, min_size, max_size, average_size):
            self._many = cu.many(data, min_size=min_size, max_size=max_size,
                                 average_size=average_size)
            self._many.__enter__()
            self._elements = iter(self._many)
            self._open = True

        def more(self) -> bool:
            if self._open and next(self._elements, end) is not end:
                return True
            if self._open:
                self._open = False
                self._many.__exit__(None, None, None)
            return False

        def reject(self, why=None) -> None:
            self._many.reject(why)

    _from_schema.cu = types.SimpleNamespace(**{**vars(cu), "many": LegacyMany})


_patch_hypothesis_jsonschema()
