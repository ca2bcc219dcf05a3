"""Cost of starting the app: wall time and peak RSS of ``create_app()`` in a fresh interpreter,
and of the CLI (``timebank --help``), medians over several runs. Targets (issue 17): a web worker
≤ 120 MB, CLI start ≤ 1 s.

    .venv/bin/python bench/startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ("import resource, time; t = time.perf_counter(); from timebank import create_app; "
       "create_app(); print(time.perf_counter() - t, "
       "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def _app_once() -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", APP], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "TIMEBANK_LOG_FORMAT": "text"})
    seconds, rss_kb = out.stdout.split()
    return float(seconds), float(rss_kb) / 1024


def _cli_once() -> float:
    cli = Path(sys.executable).with_name("timebank")
    start = time.perf_counter()
    subprocess.run([str(cli), "--help"], cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    app = [_app_once() for _ in range(runs)]
    cli = [_cli_once() for _ in range(runs)]
    print(f"load average {os.getloadavg()[0]:.1f}, {runs} runs, medians")
    print(f"{'create_app() time':24} {statistics.median(a[0] for a in app):8.2f} s")
    print(f"{'create_app() peak RSS':24} {statistics.median(a[1] for a in app):8.0f} MB"
          "   target <= 120 MB")
    print(f"{'timebank --help':24} {statistics.median(cli):8.2f} s   target <= 1 s")


if __name__ == "__main__":
    main()
