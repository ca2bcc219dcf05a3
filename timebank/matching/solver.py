"""Pure supply/demand matcher: assign volunteers to posts.

The problem
-----------
Every volunteer can fill up to ``capacity`` places (their monthly limit) and
every post offers ``capacity`` places.  A *candidate* is a (volunteer, post)
pair that is allowed, with an integer cost (lower is a better fit).  A
volunteer fills at most one place of a given post, so a candidate is used at
most once.

``solve`` returns an assignment that

1. maximises the number of filled places, and then, among all assignments
   with that maximum,
2. minimises the total cost.

The priority is strict: an assignment with more filled places always wins,
whatever its cost.

How
---
This is a min-cost max-flow problem on a bipartite graph::

    volunteer v (supply = capacity)  --[cap 1, cost c]-->  post p (demand = capacity)

OR-Tools' ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` adds the
super source/sink itself, first computes the maximum flow and then the
cheapest flow of exactly that value, which gives the strict lexicographic
order above without any "big M" cost on a bypass arc (big M costs would risk
int64 overflow inside OR-Tools' cost scaling).

The module has no dependency on Flask or on the database: plain dataclasses
in, plain dataclasses out, so it can be unit-tested and benchmarked alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
from ortools.graph.python import min_cost_flow

__all__ = [
    "MAX_CAPACITY",
    "MAX_COST",
    "Assignment",
    "Candidate",
    "Post",
    "Slot",
    "Solution",
    "SolverError",
    "Volunteer",
    "solve",
]

#: Largest accepted capacity (volunteer or post).  Far above any real monthly
#: limit or post size; keeps every flow sum far inside int64.
MAX_CAPACITY = 1_000_000

#: Largest accepted candidate cost.  OR-Tools scales costs by
#: (number of nodes + 1) and node potentials can grow to about
#: nodes * scaled cost, so costs must stay small for graphs with millions of
#: nodes to remain inside int64.  Real costs are small scores.
MAX_COST = 1_000_000


@dataclass(frozen=True, slots=True)
class Volunteer:
    id: str
    capacity: int


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    capacity: int


#: A post is a slot that volunteers fill; both names are accepted.
Slot = Post


@dataclass(frozen=True, slots=True)
class Candidate:
    volunteer: str
    post: str
    cost: int


@dataclass(frozen=True, slots=True)
class Assignment:
    volunteer: str
    post: str
    cost: int


@dataclass(frozen=True, slots=True)
class Solution:
    assignments: list[Assignment]
    filled: int
    total_cost: int


class SolverError(RuntimeError):
    """OR-Tools did not return an optimal flow (should not happen on valid input)."""


def _ints(values: list[object], what: str, upper: int) -> np.ndarray:
    """Integers as an int64 array, checking 0 <= value <= upper.

    Floats are rejected rather than truncated (a silent truncation would
    hide bugs); values beyond int64 come out as an object array and are
    rejected as out of range.
    """
    if not values:
        return np.empty(0, dtype=np.int64)
    try:
        arr = np.array(values)
    except (TypeError, ValueError):  # pragma: no cover - ragged or odd objects
        arr = np.array(values, dtype=object)
    if arr.dtype.kind not in "iu":
        bad = next(
            (
                v
                for v in values
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= upper
            ),
            None,
        )
        if isinstance(bad, int) and not isinstance(bad, bool):
            raise ValueError(f"{what} must be between 0 and {upper}, got {bad}")
        raise ValueError(f"{what} must be integers, got {bad!r}")
    arr = arr.astype(np.int64, copy=False)
    if int(arr.min()) < 0 or int(arr.max()) > upper:
        bad = int(arr[(arr < 0) | (arr > upper)][0])
        raise ValueError(f"{what} must be between 0 and {upper}, got {bad}")
    return arr


def _sorted_ids(items: Sequence[Volunteer] | Sequence[Post], what: str) -> tuple[list, dict]:
    """Return the items sorted by id and a mapping id -> position in that order.

    Numbering nodes in id order makes the graph (and so OR-Tools' choice
    among equally good solutions) independent of the input order, and makes
    the final sort of assignments a plain integer sort.
    """
    ordered = sorted(items, key=attrgetter("id"))
    position = {item.id: i for i, item in enumerate(ordered)}
    if len(position) != len(ordered):
        seen: set[str] = set()
        for item in ordered:
            if item.id in seen:
                raise ValueError(f"duplicate {what} id {item.id!r}")
            seen.add(item.id)
    return ordered, position


def _positions(ids: list[object], position: dict, what: str) -> np.ndarray:
    """Map candidate ids to node numbers (one C-level pass with ``map``)."""
    try:
        return np.array(list(map(position.__getitem__, ids)), dtype=np.int64)
    except (KeyError, TypeError):
        bad = next(i for i in ids if not isinstance(i, str) or i not in position)
        raise ValueError(f"candidate references unknown {what} {bad!r}") from None


def solve(
    volunteers: Sequence[Volunteer],
    posts: Sequence[Post],
    candidates: Sequence[Candidate],
) -> Solution:
    """Maximise filled places, then minimise total cost.

    Raises ``ValueError`` on inconsistent input (duplicate ids, duplicate
    candidate pairs, candidates naming unknown ids, negative or too large
    capacities or costs).  The assignments are sorted by volunteer id, then
    post id; the result depends only on the input sets, not on their order.
    """
    volunteers = list(volunteers)
    posts = list(posts)
    candidates = list(candidates)

    vols, vol_pos = _sorted_ids(volunteers, "volunteer")
    psts, post_pos = _sorted_ids(posts, "post")
    n_vol, n_post, n_cand = len(vols), len(psts), len(candidates)

    capacity = attrgetter("capacity")
    vol_cap = _ints(list(map(capacity, vols)), "volunteer capacities", MAX_CAPACITY)
    post_cap = _ints(list(map(capacity, psts)), "post capacities", MAX_CAPACITY)
    cost = _ints(list(map(attrgetter("cost"), candidates)), "candidate costs", MAX_COST)
    cand_v = _positions(list(map(attrgetter("volunteer"), candidates)), vol_pos, "volunteer")
    cand_p = _positions(list(map(attrgetter("post"), candidates)), post_pos, "post")

    if n_cand == 0:
        return Solution(assignments=[], filled=0, total_cost=0)

    # Canonical arc order (volunteer, post) and duplicate-pair detection in a
    # single sort of one int64 key.
    key = cand_v * max(n_post, 1) + cand_p
    order = np.argsort(key, kind="stable")
    key = key[order]
    dup = np.flatnonzero(key[1:] == key[:-1])
    if dup.size:
        c = candidates[int(order[dup[0] + 1])]
        raise ValueError(f"duplicate candidate pair ({c.volunteer!r}, {c.post!r})")
    cand_v = cand_v[order]
    cand_p = cand_p[order]
    cost = cost[order]
    del key, dup

    # Nodes: volunteers 0..n_vol-1, posts n_vol..n_vol+n_post-1.
    if n_vol + n_post >= np.iinfo(np.int32).max or n_cand >= np.iinfo(np.int32).max:
        raise ValueError("problem too large for 32-bit node/arc indices")
    tails = cand_v.astype(np.int32)
    heads = (cand_p + n_vol).astype(np.int32)
    del cand_v, cand_p

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, np.ones(n_cand, dtype=np.int64), cost)
    # Volunteers supply their capacity, posts demand theirs.  Supplies and
    # demands need not balance: solve_max_flow_with_min_cost routes the
    # maximum possible flow and, for that flow value, the minimum cost.
    nodes = np.arange(n_vol + n_post, dtype=np.int32)
    supplies = np.concatenate([vol_cap, -post_cap])
    smcf.set_nodes_supplies(nodes, supplies)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise SolverError(f"min cost flow failed with status {status.name}")

    flows = smcf.flows(np.arange(n_cand, dtype=np.int32))
    used = np.flatnonzero(flows)
    filled = int(smcf.maximum_flow())
    total_cost = int(smcf.optimal_cost())
    # Cross-check what OR-Tools reports against the arcs actually used.
    if filled != used.size or total_cost != int(cost[used].sum()):
        raise SolverError("inconsistent flow returned by OR-Tools")

    # Arcs are already in (volunteer id, post id) order.
    assignments = [
        Assignment(vols[t].id, psts[h - n_vol].id, c)
        for t, h, c in zip(
            tails[used].tolist(), heads[used].tolist(), cost[used].tolist(), strict=True
        )
    ]
    return Solution(assignments=assignments, filled=filled, total_cost=total_cost)
