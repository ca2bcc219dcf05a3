"""Scheduled jobs: the record of every run, "run now" requests and the admin page.

The job table is ``table.py`` (stable ids, cron, dotted paths of the bodies); the one scheduler
process is ``runner.py``. Features raise ``table.JobFailed``/``JobSkipped``; nothing here imports a
feature except by the dotted path, when a job runs.
"""
