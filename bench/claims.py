"""Benchmark of the claim path through the API, served by gunicorn on PostgreSQL.

Usage::

    .venv/bin/python bench/claims.py                      # 200 clients, 25 claims each
    .venv/bin/python bench/claims.py --clients 100 --per-client 40 --worker-class sync

What it does:

1. (Re)creates the database named by ``TIMEBANK_BENCH_DATABASE_URL`` (default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/tb_bench_claims``), migrates it to the heads and
   fills it: one street, one community, ``--clients`` approved members each with an API token,
   and ``--sessions`` sessions (over several posts) with room for everyone.
2. Starts ``gunicorn`` with ``--workers`` workers (4) on that database, with
   ``bench/ping_app.py`` as the app (the real app plus ``POST /api/v1/bench/ping``: the same
   authentication and one insert, no claim logic) and rate limits raised out of the way.
3. Drives ``--clients`` concurrent clients (asyncio, one keep-alive connection each, closed loop:
   each sends its next request when the previous answer arrived). First the bare endpoint, then
   the claims: each client claims ``--per-client`` different sessions in a random order, so many
   clients contend for the same session rows at once.
4. Prints requests per second and p50/p95/p99 latency for both, the ratio of the throughputs,
   and checks afterwards that every session's counter equals its active claims.

With a closed loop, mean latency is (clients / throughput) by Little's law: 200 clients can only
see p99 under 200 ms if the server answers well over 1,000 requests per second. The figures are
those of the machine the script runs on (client, server and database share its cores).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _pg  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tb_bench_claims"


# --- database --------------------------------------------------------------------------------


def prepare_database(url: str, instance: str, clients: int, sessions: int,
                     sessions_per_post: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Fresh database with members, tokens and sessions: (tokens, [(post_id, session_id)])."""
    import datetime as dt

    import sqlalchemy as sa

    _pg.recreate(url)

    os.environ["TIMEBANK_INSTANCE_PATH"] = instance
    os.environ["TIMEBANK_DATABASE_URL"] = url
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from timebank import create_app
    from timebank.accounts import operations as accounts
    from timebank.api import operations as api_tokens
    from timebank.core import clock
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.extensions import db
    from timebank.members import operations as members
    from timebank.orgs import operations as orgs
    from timebank.orgs.models import OrgKind
    from timebank.posts import operations as posts
    from timebank.catalogue.models import PostKind
    from timebank.posts.schedule import Schedule

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        district = orgs.create_node(None, None, OrgKind.DISTRICT, "基准区", code="B")
        street = orgs.create_node(None, district, OrgKind.STREET, "基准街道")
        community = orgs.create_node(None, street, OrgKind.COMMUNITY, "基准社区")
        catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
        staff = accounts.create_user(None, "13900000000", "工作人员",
                                     password_hash=generate_password_hash("bench-12345"))
        accounts.assign_role(None, staff, "community_staff", community)
        tokens = []
        for i in range(clients):
            user = accounts.create_user(None, f"139{i + 1:08d}", f"党员{i + 1}",
                                        password_hash="!")
            members.create_approved_member(None, user, community)
            tokens.append(api_tokens.issue(user)[0])
        kind = db.session.execute(sa.select(PostKind).limit(1)).scalar_one()
        targets = []
        first = clock.today() + dt.timedelta(days=1)
        n_posts = -(-sessions // sessions_per_post)
        for p in range(n_posts):
            count = min(sessions_per_post, sessions - p * sessions_per_post)
            # A day of its own for every session: a member's claims must not overlap in time.
            dates = "\n".join((first + dt.timedelta(days=p * sessions_per_post + d)).isoformat()
                              for d in range(count))
            post = posts.create_post(staff, community, posts.PostData(
                kind=kind, title=f"基准岗位{p + 1}", capacity=clients,
                schedule=Schedule("dates", dt.time(9), dt.time(11), dates_text=dates)))
            posts.publish(staff, post)
            targets += [(post.id, s.id) for s in post.sessions]
        db.session.commit()
        db.engine.dispose()
    return tokens, targets


def check_counters(url: str) -> tuple[int, int]:
    """(sessions whose counter differs from their active claims, active claims)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        bad = conn.execute(sa.text(
            "SELECT count(*) FROM post_sessions s WHERE s.claimed <> (SELECT count(*) FROM "
            "claims c WHERE c.session_id = s.id AND c.status = 'active')")).scalar_one()
        total = conn.execute(sa.text("SELECT count(*) FROM claims WHERE status = 'active'")
                             ).scalar_one()
    engine.dispose()
    return bad, total


# --- server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, instance: str, port: int, workers: int, worker_class: str,
                   threads: int) -> subprocess.Popen:
    env = {**os.environ, "TIMEBANK_DATABASE_URL": url, "TIMEBANK_INSTANCE_PATH": instance,
           "TIMEBANK_COOKIE_SECURE": "0",
           "TIMEBANK_POSTS_CLAIM_LIMIT": "1000000 per minute",
           "TIMEBANK_POSTS_CHECKIN_LIMIT": "1000000 per minute"}
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, "--workers", str(workers), "--worker-class", worker_class,
           "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--keep-alive", "30",
           "--log-level", "warning", "--chdir", str(ROOT / "bench"),
           "--pythonpath", str(ROOT)]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    proc = subprocess.Popen(cmd + ["ping_app:app"], env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up") from None
            time.sleep(0.2)
    stop(proc)
    raise SystemExit("gunicorn did not start listening")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --- load ------------------------------------------------------------------------------------


class Connection:
    """A minimal HTTP/1.1 client on one keep-alive connection (reconnects when closed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = (f"{method} {quote(path)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            try:
                self.writer.write(head + body)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length) if length else b""
                if close:
                    await self.close()
                return status, data
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass
        self.reader = self.writer = None


async def run_phase(port: int, jobs: list[list[tuple[str, str, bytes]]], tokens: list[str],
                    think: float = 0.0, seed: int = 1):
    """Each client runs its list of (method, path, body) in order, pausing a random time around
    ``think`` seconds between requests (0: closed loop); returns
    (wall seconds, [latency seconds], {status: count})."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start_gate = asyncio.Event()

    async def client(i: int) -> None:
        conn = Connection(port)
        pause = random.Random(seed * 100003 + i)
        await start_gate.wait()
        if think:
            await asyncio.sleep(pause.uniform(0, think))  # spread the first requests
        for n, (method, path, body) in enumerate(jobs[i]):
            if think and n:
                await asyncio.sleep(pause.uniform(0.5 * think, 1.5 * think))
            t0 = time.perf_counter()
            status, _data = await conn.request(method, path, tokens[i], body)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        await conn.close()

    tasks = [asyncio.create_task(client(i)) for i in range(len(jobs))]
    await asyncio.sleep(0.1)
    t0 = time.perf_counter()
    start_gate.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, latencies, statuses


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(name: str, wall: float, latencies: list[float], statuses: dict[int, int],
           ok_status: int) -> float:
    ok = statuses.get(ok_status, 0)
    rate = ok / wall if wall else 0.0
    ms = [x * 1000 for x in latencies]
    print(f"{name:<6} {ok:>6} ok of {sum(statuses.values()):>6} in {wall:6.2f} s: "
          f"{rate:8.1f} req/s   p50 {statistics.median(ms):7.1f} ms   "
          f"p95 {pct(ms, 95):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   statuses {statuses}")
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--per-client", type=int, default=25, help="claims per client")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--sessions-per-post", type=int, default=5)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    ap.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    ap.add_argument("--think-ms", type=int, default=0,
                    help="pause of each client between requests, around this many ms "
                         "(default 0: closed loop, every client busy all the time)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.per_client > args.sessions:
        ap.error("--per-client cannot exceed --sessions (one claim per session and member)")
    url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", DEFAULT_URL)
    rng = random.Random(args.seed)
    instance = tempfile.mkdtemp(prefix="tb-bench-claims-")
    t0 = time.time()
    tokens, targets = prepare_database(url, instance, args.clients, args.sessions,
                                       args.sessions_per_post)
    print(f"database ready in {time.time() - t0:.1f} s: {args.clients} members, "
          f"{len(targets)} sessions of capacity {args.clients}")
    port = free_port()
    proc = start_gunicorn(url, instance, port, args.workers, args.worker_class, args.threads)
    print(f"gunicorn: {args.workers} workers ({args.worker_class}"
          + (f", {args.threads} threads" if args.worker_class == "gthread" else "")
          + f") on 127.0.0.1:{port}; {args.clients} concurrent clients, "
          + (f"each pausing ~{args.think_ms} ms between requests" if args.think_ms
             else "closed loop"))
    try:
        warm = [[("POST", "/api/v1/bench/ping", b"")] * 2 for _ in range(args.clients)]
        asyncio.run(run_phase(port, warm, tokens))
        n = args.per_client
        bare_jobs = [[("POST", "/api/v1/bench/ping", b"")] * n for _ in range(args.clients)]
        claim_jobs = []
        for _ in range(args.clients):
            chosen = rng.sample(targets, n)
            claim_jobs.append([("POST", f"/api/v1/posts/{post_id}/claims",
                                json.dumps({"session_id": sid}).encode())
                               for post_id, sid in chosen])
        think = args.think_ms / 1000
        bare = report("bare", *asyncio.run(run_phase(port, bare_jobs, tokens, think, args.seed)),
                      ok_status=201)
        claims = report("claim", *asyncio.run(run_phase(port, claim_jobs, tokens, think,
                                                        args.seed)), ok_status=201)
    finally:
        stop(proc)
    bad, active = check_counters(url)
    ratio = claims / bare if bare else 0.0
    print(f"claim/bare throughput ratio: {ratio:.2f} (target >= 0.5)")
    print(f"after the run: {active} active claims, {bad} sessions whose counter differs "
          f"from their claims")
    shutil.rmtree(instance, ignore_errors=True)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
