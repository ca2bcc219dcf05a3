"""Scheduled jobs: the record of every run, "run now" requests and the admin page.

The job table itself and the scheduler process are in ``timebank/scheduler.py``.
"""
