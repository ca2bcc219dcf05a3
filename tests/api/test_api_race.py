"""The race through HTTP: 50 members claim the last 5 places of a session at once through the
API served by a real (threaded) server, each request on its own connection."""
from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

from sqlalchemy import func, select

from timebank.posts.models import Claim, PostSession


def test_fifty_parallel_api_claims_fill_exactly_five_places(db, live_server, make_post,
                                                            make_member, token_for):
    post = make_post(capacity=5)
    post_id, session_id = post.id, post.sessions[0].id
    tokens = [token_for(make_member().user) for _ in range(50)]
    db.session.commit()
    host = urlsplit(live_server)
    barrier = threading.Barrier(len(tokens))
    results: list = [None] * len(tokens)

    def claim(i, token):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        body = json.dumps({"session_id": session_id})
        barrier.wait()
        conn.request("POST", f"/api/v1/posts/{post_id}/claims", body=body,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        results[i] = (response.status, json.loads(response.read()))
        conn.close()

    threads = [threading.Thread(target=claim, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    assert statuses == [201] * 5 + [409] * 45, results
    assert {r[1]["code"] for r in results if r[0] == 409} == {"post_full"}
    db.session.expire_all()
    counter = db.session.get(PostSession, session_id).claimed
    rows = db.session.execute(select(func.count()).select_from(Claim).where(
        Claim.session_id == session_id, Claim.status == "active")).scalar_one()
    assert counter == rows == 5
