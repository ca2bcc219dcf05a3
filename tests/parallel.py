"""Running test jobs at the same moment, each in its own thread, app context, database
connection and transaction (the races on capacity, verification, the ledger and proposals)."""
from __future__ import annotations

import threading


def run_parallel(app, db, jobs) -> list:
    """Start every callable in ``jobs`` at once (a barrier), commit what each wrote, and return
    what each returned, or the exception it raised, in the order of ``jobs``. Pending work of the
    calling test is committed first so the threads see it."""
    db.session.commit()
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(i, job):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = job()
                db.session.commit()
            except Exception as e:  # noqa: BLE001 - collected for the assertions
                db.session.rollback()
                results[i] = e
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
