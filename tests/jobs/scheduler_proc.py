"""A scheduler process for the two-process tests (run with ``python scheduler_proc.py``).

    scheduler_proc.py scheduler DB_URL INSTANCE OUT   run ``runner.run_forever`` with a job
                                                       that ticks every second
    scheduler_proc.py race DB_URL INSTANCE OUT N START run periods 0..N-1 of that job directly,
                                                       without the instance lock, as two
                                                       schedulers racing would

Each run of the job appends "<pid> <period>" to OUT, so the test can count runs per period.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

OUT = os.environ.get("TICK_OUT", "")


def tick(scheduled_for: dt.datetime) -> str:
    with open(OUT, "a") as fh:
        fh.write(f"{os.getpid()} {scheduled_for.isoformat()}\n")
    time.sleep(0.02)  # widen the window in which a second runner could interfere
    return "tick"


def main() -> None:
    mode, url, instance, out = sys.argv[1:5]
    os.environ["TICK_OUT"] = out
    global OUT
    OUT = out
    from timebank import create_app
    from timebank.jobs import runner, table
    from timebank.config import TestConfig

    job = table.Job("test.tick", "scheduler_proc:tick", {"second": "*"}, "tick", 60)
    table.JOBS[:] = [job]
    app = create_app(TestConfig(url, instance))
    with app.app_context():
        if mode == "scheduler":
            print(f"pid {os.getpid()} starting", flush=True)
            runner.run_forever(lock_retry_seconds=0.2, poll_seconds=0.5)
        else:
            n, start = int(sys.argv[5]), dt.datetime.fromisoformat(sys.argv[6])
            for i in range(n):
                runner.execute(job, start + dt.timedelta(seconds=i))


if __name__ == "__main__":
    main()
