"""A scheduler process for the kill -9 test (run as ``python kill_proc.py URL INSTANCE OUT MODE
FROZEN``): the job table holds one job, ``test.slow``, due every minute; the clock is frozen at
FROZEN so both processes serve the same period. In MODE "hang" the body writes "started" to OUT
and then sleeps until killed; in MODE "finish" it writes "finished" and returns."""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def slow(scheduled_for: dt.datetime) -> str:
    with open(os.environ["KILL_OUT"], "a") as fh:
        fh.write(f"{os.environ['KILL_MODE']} {os.getpid()} {scheduled_for.isoformat()}\n")
    while os.environ["KILL_MODE"] == "hang":
        time.sleep(1)
    return "finished"


def main() -> None:
    url, instance, out, mode, frozen = sys.argv[1:6]
    os.environ["KILL_OUT"], os.environ["KILL_MODE"] = out, mode
    from timebank import create_app
    from timebank.config import TestConfig
    from timebank.core import clock
    from timebank.jobs import runner, table

    clock.freeze_at(dt.datetime.fromisoformat(frozen))
    table.JOBS[:] = [table.Job("test.slow", "kill_proc:slow", {"minute": "*"}, "slow", 3600)]
    app = create_app(TestConfig(url, instance))
    with app.app_context():
        print(f"pid {os.getpid()} starting", flush=True)
        runner.run_forever(lock_retry_seconds=0.2, poll_seconds=0.5)


if __name__ == "__main__":
    main()
