"""Benchmark of the matcher (timebank.matching.solver) on synthetic instances.

Usage::

    .venv/bin/python bench/match.py                       # small, medium, large
    .venv/bin/python bench/match.py --scales small,medium --seed 7

Instances (seeded, fully vectorised with numpy):

* members and posts are spread over communities (~150 members each) laid out
  on a square grid; a member is a candidate for a post only in the same
  community or one of its 4 grid neighbours;
* 40 skill tags with Zipf-like popularity; members have 1-3 tags, posts need
  1-2; a candidate must share at least one tag;
* cost = base + fit penalty (required tags the member lacks) + distance tier
  (neighbouring community) + fairness term (member's recent load, random);
* member capacity 1-4 (monthly limit), post capacity 1-10.

For each scale the instance is generated once (timed), written to a
temporary .npz, and every method runs in a fresh subprocess so that its peak
resident memory (VmHWM, which includes OR-Tools' C++ allocations that
tracemalloc cannot see) is its own.  Each child builds the dataclass inputs
the application would pass (timed separately), then calls the method.

Methods: ``solver`` is the project's ``solve()``; ``greedy`` is the
baseline: candidates by increasing cost, take each one while both
capacities allow.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCALES = {
    "small": (2_000, 300),
    "medium": (20_000, 3_000),
    "large": (200_000, 30_000),
}
# Targets from the requirements (solve time in seconds, peak RSS in MiB).
TARGETS = {"medium": (2.0, None), "large": (30.0, 4096.0)}

N_TAGS = 40
ZIPF_EXPONENT = 1.0
MEMBERS_PER_COMMUNITY = 150
POST_CHUNK = 2048  # posts handled per vectorised generation step

# Cost model (all integers).
COST_BASE = 10
COST_MISSING_TAG = 30  # per required tag the member does not have
COST_NEIGHBOUR = 20  # post is in a neighbouring community
FAIRNESS_MAX = 40  # recent load term, 0..FAIRNESS_MAX


# --------------------------------------------------------------------------
# Instance generation
# --------------------------------------------------------------------------


def _tag_masks(rng: np.random.Generator, n: int, max_tags: int, probs: np.ndarray) -> np.ndarray:
    """n bitmasks of 1..max_tags tags drawn with the given popularity."""
    counts = rng.integers(1, max_tags + 1, n)
    draws = rng.choice(N_TAGS, size=(n, max_tags), p=probs).astype(np.uint64)
    bits = np.left_shift(np.uint64(1), draws)
    bits[np.arange(max_tags)[None, :] >= counts[:, None]] = 0
    return np.bitwise_or.reduce(bits, axis=1)


def _neighbours(n_comm: int) -> tuple[np.ndarray, int]:
    """(n_comm, 5) table: the community itself then its 4 grid neighbours (-1: none)."""
    side = math.isqrt(n_comm - 1) + 1 if n_comm > 1 else 1
    comm = np.arange(n_comm)
    row, col = np.divmod(comm, side)
    table = np.full((n_comm, 5), -1, dtype=np.int64)
    table[:, 0] = comm
    for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1)), start=1):
        r, c = row + dr, col + dc
        idx = r * side + c
        ok = (r >= 0) & (r < side) & (c >= 0) & (c < side) & (idx < n_comm)
        table[ok, k] = idx[ok]
    return table, side


def generate(n_members: int, n_posts: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_comm = max(1, round(n_members / MEMBERS_PER_COMMUNITY))
    table, side = _neighbours(n_comm)

    member_comm = rng.integers(0, n_comm, n_members)
    post_comm = rng.integers(0, n_comm, n_posts)
    popularity = 1.0 / np.arange(1, N_TAGS + 1) ** ZIPF_EXPONENT
    popularity /= popularity.sum()
    member_tags = _tag_masks(rng, n_members, 3, popularity)
    post_tags = _tag_masks(rng, n_posts, 2, popularity)
    post_tag_count = np.bitwise_count(post_tags).astype(np.int64)
    member_cap = rng.integers(1, 5, n_members)
    post_cap = rng.integers(1, 11, n_posts)
    # Hours served recently: most members little, a few a lot.
    recent_load = np.minimum(rng.exponential(8.0, n_members), FAIRNESS_MAX).astype(np.int64)

    # Members grouped by community (CSR layout).
    by_comm = np.argsort(member_comm, kind="stable")
    comm_size = np.bincount(member_comm, minlength=n_comm)
    comm_start = np.concatenate([[0], np.cumsum(comm_size)[:-1]])

    parts_v, parts_p, parts_c = [], [], []
    for lo in range(0, n_posts, POST_CHUNK):
        posts = np.arange(lo, min(lo + POST_CHUNK, n_posts))
        nb = table[post_comm[posts]]  # (chunk, 5)
        valid = nb >= 0
        blk_post = np.broadcast_to(posts[:, None], nb.shape)[valid]
        blk_tier = np.broadcast_to(np.arange(5)[None, :] > 0, nb.shape)[valid]
        blk_comm = nb[valid]
        blk_len = comm_size[blk_comm]
        total = int(blk_len.sum())
        blk_off = np.cumsum(blk_len) - blk_len
        within = np.arange(total) - np.repeat(blk_off, blk_len)
        members = by_comm[np.repeat(comm_start[blk_comm], blk_len) + within]
        pair_post = np.repeat(blk_post, blk_len)
        pair_tier = np.repeat(blk_tier, blk_len)

        shared = member_tags[members] & post_tags[pair_post]
        keep = shared != 0
        members, pair_post, pair_tier = members[keep], pair_post[keep], pair_tier[keep]
        missing = post_tag_count[pair_post] - np.bitwise_count(shared[keep]).astype(np.int64)
        cost = (
            COST_BASE
            + COST_MISSING_TAG * missing
            + COST_NEIGHBOUR * pair_tier
            + recent_load[members]
        )
        parts_v.append(members.astype(np.int32))
        parts_p.append(pair_post.astype(np.int32))
        parts_c.append(cost.astype(np.int64))

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    return {
        "member_cap": member_cap.astype(np.int64),
        "post_cap": post_cap.astype(np.int64),
        "cand_v": cat(parts_v, np.int32),
        "cand_p": cat(parts_p, np.int32),
        "cand_cost": cat(parts_c, np.int64),
        "grid": np.array([n_comm, side]),
    }


# --------------------------------------------------------------------------
# Child process: one method on one instance
# --------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def greedy(volunteers, posts, candidates):
    """Baseline: cheapest candidates first while both capacities allow."""
    vol_left = {v.id: v.capacity for v in volunteers}
    post_left = {p.id: p.capacity for p in posts}
    costs = np.fromiter((c.cost for c in candidates), dtype=np.int64, count=len(candidates))
    filled = total = 0
    for i in np.argsort(costs, kind="stable").tolist():
        c = candidates[i]
        if vol_left[c.volunteer] > 0 and post_left[c.post] > 0:
            vol_left[c.volunteer] -= 1
            post_left[c.post] -= 1
            filled += 1
            total += c.cost
    return filled, total


def child(method: str, problem: str) -> None:
    from timebank.matching.solver import Candidate, Post, Volunteer, solve

    data = np.load(problem)
    start = time.perf_counter()
    vol_ids = [f"m{i}" for i in range(len(data["member_cap"]))]
    post_ids = [f"p{j}" for j in range(len(data["post_cap"]))]
    volunteers = [
        Volunteer(i, c) for i, c in zip(vol_ids, data["member_cap"].tolist(), strict=True)
    ]
    posts = [Post(i, c) for i, c in zip(post_ids, data["post_cap"].tolist(), strict=True)]
    candidates = [
        Candidate(vol_ids[v], post_ids[p], c)
        for v, p, c in zip(
            data["cand_v"].tolist(),
            data["cand_p"].tolist(),
            data["cand_cost"].tolist(),
            strict=True,
        )
    ]
    build_s = time.perf_counter() - start
    input_rss = _status_kib("VmRSS")

    start = time.perf_counter()
    if method == "solver":
        solution = solve(volunteers, posts, candidates)
        filled, total = solution.filled, solution.total_cost
    else:
        filled, total = greedy(volunteers, posts, candidates)
    solve_s = time.perf_counter() - start
    peak_rss = _status_kib("VmHWM")

    feasible = None
    if method == "solver":
        # Independent feasibility check of what solve() returned.
        vol_pos = {v: i for i, v in enumerate(vol_ids)}
        post_pos = {p: j for j, p in enumerate(post_ids)}
        av = np.fromiter((vol_pos[a.volunteer] for a in solution.assignments), dtype=np.int64)
        ap = np.fromiter((post_pos[a.post] for a in solution.assignments), dtype=np.int64)
        allowed = set(zip(data["cand_v"].tolist(), data["cand_p"].tolist(), strict=True))
        feasible = bool(
            np.all(np.bincount(av, minlength=len(vol_ids)) <= data["member_cap"])
            and np.all(np.bincount(ap, minlength=len(post_ids)) <= data["post_cap"])
            and all(pair in allowed for pair in zip(av.tolist(), ap.tolist(), strict=True))
            and len(set(zip(av.tolist(), ap.tolist(), strict=True))) == len(av)
        )
    print(
        json.dumps(
            {
                "build_s": build_s,
                "solve_s": solve_s,
                "input_rss_mib": input_rss / 1024,
                "peak_rss_mib": peak_rss / 1024,
                "filled": filled,
                "total_cost": total,
                "feasible": feasible,
            }
        )
    )


def run_child(method: str, problem: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", method, str(problem)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{method} child failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def bench_scale(name: str, seed: int, workdir: Path) -> bool:
    n_members, n_posts = SCALES[name]
    start = time.perf_counter()
    inst = generate(n_members, n_posts, seed)
    gen_s = time.perf_counter() - start
    n_cand = len(inst["cand_cost"])
    n_comm, side = (int(x) for x in inst["grid"])
    problem = workdir / f"{name}.npz"
    np.savez(problem, **inst)

    print(f"== {name}: seed {seed} ==")
    print(
        f"members {n_members:,}  posts {n_posts:,}  candidates {n_cand:,}"
        f"  (communities {n_comm:,} on a {side}x{side} grid, {N_TAGS} tags)"
    )
    print(
        f"places offered by posts {int(inst['post_cap'].sum()):,}"
        f"  member capacity {int(inst['member_cap'].sum()):,}"
        f"  mean cost {inst['cand_cost'].mean():.1f}"
    )
    print(f"candidate generation: {gen_s:.2f} s")
    del inst

    results = {method: run_child(method, problem) for method in ("solver", "greedy")}
    problem.unlink()
    header = (
        f"{'method':<7} {'build_s':>8} {'solve_s':>8} {'input_MiB':>10} "
        f"{'peak_MiB':>9} {'filled':>9} {'total_cost':>12}"
    )
    print(header)
    for method, r in results.items():
        print(
            f"{method:<7} {r['build_s']:>8.2f} {r['solve_s']:>8.2f} {r['input_rss_mib']:>10.0f} "
            f"{r['peak_rss_mib']:>9.0f} {r['filled']:>9,} {r['total_cost']:>12,}"
        )

    s, g = results["solver"], results["greedy"]
    ok = bool(s["feasible"])
    if s["filled"] > g["filled"]:
        verdict = f"solver fills more places ({s['filled']:,} > {g['filled']:,})"
    elif s["filled"] == g["filled"]:
        ok = ok and s["total_cost"] <= g["total_cost"]
        verdict = (
            f"same places filled ({s['filled']:,}), solver cost {s['total_cost']:,}"
            f" {'<=' if s['total_cost'] <= g['total_cost'] else '>'} greedy {g['total_cost']:,}"
        )
    else:
        ok = False
        verdict = f"solver fills FEWER places ({s['filled']:,} < {g['filled']:,})"
    print(
        f"check: {'OK' if ok else 'FAIL'}: {verdict};"
        f" solver output feasible: {'yes' if s['feasible'] else 'NO'}"
    )
    if name in TARGETS:
        max_s, max_mib = TARGETS[name]
        met = s["solve_s"] < max_s and (max_mib is None or s["peak_rss_mib"] < max_mib)
        limits = f"solve < {max_s:g} s" + (f", peak < {max_mib:g} MiB" if max_mib else "")
        print(f"target ({limits}): {'met' if met else 'MISSED'}")
        ok = ok and met
    print()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales",
        default=",".join(SCALES),
        help="comma-separated subset of: " + ", ".join(SCALES) + " (default: all)",
    )
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "NPZ"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(*args.child)
        return 0

    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s): {', '.join(unknown)}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        for name in scales:
            ok = bench_scale(name, args.seed, Path(tmp)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
