"""``timebank match solve`` through the real console script."""
import json
import subprocess
import sys
from pathlib import Path

TIMEBANK = str(Path(sys.executable).parent / "timebank")


def _run(tmp_path, problem):
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(problem if isinstance(problem, str) else json.dumps(problem))
    env = {"PATH": "/usr/bin:/bin", "TIMEBANK_INSTANCE_PATH": str(tmp_path),
           "TIMEBANK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    proc = subprocess.run([TIMEBANK, "match", "solve", "--input", str(src), "--output", str(out)],
                          capture_output=True, text=True, env=env)
    return proc, out


def test_solve_writes_optimal_assignments(tmp_path):
    proc, out = _run(tmp_path, {
        "volunteers": [{"id": "m1", "capacity": 1}, {"id": "m2", "capacity": 1}],
        "posts": [{"id": "p1", "capacity": 1}, {"id": "p2", "capacity": 1}],
        "candidates": [{"volunteer": "m1", "post": "p1", "cost": 1},
                       {"volunteer": "m1", "post": "p2", "cost": 5},
                       {"volunteer": "m2", "post": "p1", "cost": 2}],
    })
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    # Greedy would take m1-p1 (cost 1) and fill one place; the optimum fills both.
    assert result == {"assignments": [{"volunteer": "m1", "post": "p2", "cost": 5},
                                      {"volunteer": "m2", "post": "p1", "cost": 2}],
                      "filled": 2, "total_cost": 7}


def test_invalid_input_exits_2_with_one_line_and_no_output(tmp_path):
    proc, out = _run(tmp_path, {"volunteers": [{"id": "m1", "capacity": 1}],
                                "posts": [{"id": "p1", "capacity": 1}],
                                "candidates": [{"volunteer": "m9", "post": "p1", "cost": 1}]})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "m9" in proc.stderr
    assert not out.exists()
