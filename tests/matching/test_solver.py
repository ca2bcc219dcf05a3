"""Tests for the pure matcher (timebank.matching.solver).

Optimality is checked against two oracles written independently of OR-Tools:
exhaustive enumeration for tiny instances, and a textbook successive
shortest path min-cost max-flow (Bellman-Ford) for bigger random ones.
"""

from __future__ import annotations

import ast
import itertools
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timebank.matching import solver
from timebank.matching.solver import (
    MAX_COST,
    Assignment,
    Candidate,
    Post,
    Slot,
    Solution,
    Volunteer,
    solve,
)

# --------------------------------------------------------------------------
# Oracles and checks
# --------------------------------------------------------------------------


def brute_force(volunteers, posts, candidates) -> tuple[int, int]:
    """(max filled, min cost at max filled) by enumerating every subset of pairs."""
    vol_cap = {v.id: v.capacity for v in volunteers}
    post_cap = {p.id: p.capacity for p in posts}
    best = (0, 0)
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            per_vol = Counter(c.volunteer for c in subset)
            per_post = Counter(c.post for c in subset)
            if any(n > vol_cap[v] for v, n in per_vol.items()):
                continue
            if any(n > post_cap[p] for p, n in per_post.items()):
                continue
            cost = sum(c.cost for c in subset)
            if size > best[0] or (size == best[0] and cost < best[1]):
                best = (size, cost)
    return best


def ssp_min_cost_max_flow(volunteers, posts, candidates) -> tuple[int, int]:
    """(max filled, min cost) by successive shortest paths with Bellman-Ford.

    Augmenting one unit at a time along a cheapest residual path yields a
    min-cost flow of every value, so stopping when no path is left gives the
    cheapest maximum flow.
    """
    source, sink = 0, 1
    vol_node = {v.id: 2 + i for i, v in enumerate(volunteers)}
    post_node = {p.id: 2 + len(volunteers) + i for i, p in enumerate(posts)}
    n = 2 + len(volunteers) + len(posts)
    # Edge list: [to, cap, cost, index of reverse edge] per node.
    graph: list[list[list[int]]] = [[] for _ in range(n)]

    def add(u, v, cap, cost):
        graph[u].append([v, cap, cost, len(graph[v])])
        graph[v].append([u, 0, -cost, len(graph[u]) - 1])

    for v in volunteers:
        add(source, vol_node[v.id], v.capacity, 0)
    for p in posts:
        add(post_node[p.id], sink, p.capacity, 0)
    for c in candidates:
        add(vol_node[c.volunteer], post_node[c.post], 1, c.cost)

    flow = cost = 0
    while True:
        dist = [None] * n
        prev: list[tuple[int, int] | None] = [None] * n
        dist[source] = 0
        for _ in range(n):
            changed = False
            for u in range(n):
                if dist[u] is None:
                    continue
                for k, (v, cap, c, _rev) in enumerate(graph[u]):
                    if cap > 0 and (dist[v] is None or dist[u] + c < dist[v]):
                        dist[v] = dist[u] + c
                        prev[v] = (u, k)
                        changed = True
            if not changed:
                break
        if dist[sink] is None:
            return flow, cost
        v = sink
        while v != source:
            u, k = prev[v]
            graph[u][k][1] -= 1
            back = graph[u][k][3]
            graph[v][back][1] += 1
            v = u
        flow += 1
        cost += dist[sink]


def check_feasible(volunteers, posts, candidates, result: Solution) -> None:
    """Every structural promise of a Solution, independent of optimality."""
    allowed = {(c.volunteer, c.post): c.cost for c in candidates}
    vol_cap = {v.id: v.capacity for v in volunteers}
    post_cap = {p.id: p.capacity for p in posts}
    pairs = [(a.volunteer, a.post) for a in result.assignments]
    assert len(pairs) == len(set(pairs)), "a candidate pair was used twice"
    for a in result.assignments:
        assert (a.volunteer, a.post) in allowed, f"non-candidate pair {a}"
        assert a.cost == allowed[(a.volunteer, a.post)]
    for vol, n in Counter(a.volunteer for a in result.assignments).items():
        assert n <= vol_cap[vol], f"volunteer {vol} over capacity"
    for post, n in Counter(a.post for a in result.assignments).items():
        assert n <= post_cap[post], f"post {post} over capacity"
    assert result.filled == len(result.assignments)
    assert result.total_cost == sum(a.cost for a in result.assignments)
    assert pairs == sorted(pairs), "assignments not sorted by volunteer, post"


# --------------------------------------------------------------------------
# Random instances
# --------------------------------------------------------------------------


@st.composite
def instances(draw, max_vols=4, max_posts=4, max_cands=8, max_cost=20, max_cap=3):
    n_vol = draw(st.integers(0, max_vols))
    n_post = draw(st.integers(0, max_posts))
    volunteers = [Volunteer(f"v{i}", draw(st.integers(0, max_cap))) for i in range(n_vol)]
    posts = [Post(f"p{j}", draw(st.integers(0, max_cap))) for j in range(n_post)]
    all_pairs = [(v.id, p.id) for v in volunteers for p in posts]
    pairs = draw(
        st.lists(st.sampled_from(all_pairs), unique=True, max_size=max_cands)
        if all_pairs
        else st.just([])
    )
    candidates = [Candidate(v, p, draw(st.integers(0, max_cost))) for v, p in pairs]
    return volunteers, posts, candidates


@settings(max_examples=300, deadline=None)
@given(instances())
def test_matches_brute_force_on_tiny_instances(instance):
    volunteers, posts, candidates = instance
    result = solve(volunteers, posts, candidates)
    check_feasible(volunteers, posts, candidates, result)
    assert (result.filled, result.total_cost) == brute_force(volunteers, posts, candidates)


@settings(max_examples=150, deadline=None)
@given(instances(max_cost=MAX_COST))
def test_matches_brute_force_with_extreme_costs(instance):
    # Costs up to the maximum: no "big M" trick may leak into the priority.
    volunteers, posts, candidates = instance
    result = solve(volunteers, posts, candidates)
    check_feasible(volunteers, posts, candidates, result)
    assert (result.filled, result.total_cost) == brute_force(volunteers, posts, candidates)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(instances(max_vols=12, max_posts=8, max_cands=60, max_cost=50, max_cap=4))
def test_matches_successive_shortest_paths(instance):
    volunteers, posts, candidates = instance
    result = solve(volunteers, posts, candidates)
    check_feasible(volunteers, posts, candidates, result)
    expected = ssp_min_cost_max_flow(volunteers, posts, candidates)
    assert (result.filled, result.total_cost) == expected


@pytest.mark.parametrize("seed", range(5))
def test_medium_random_instance_against_ssp(seed):
    rng = random.Random(seed)
    volunteers = [Volunteer(f"v{i:03d}", rng.randint(0, 3)) for i in range(40)]
    posts = [Post(f"p{j:03d}", rng.randint(0, 6)) for j in range(25)]
    pairs = rng.sample([(v.id, p.id) for v in volunteers for p in posts], 250)
    candidates = [Candidate(v, p, rng.randint(0, 100)) for v, p in pairs]
    result = solve(volunteers, posts, candidates)
    check_feasible(volunteers, posts, candidates, result)
    assert (result.filled, result.total_cost) == ssp_min_cost_max_flow(
        volunteers, posts, candidates
    )
    assert result.filled > 0


# --------------------------------------------------------------------------
# Hand-built cases
# --------------------------------------------------------------------------


def test_more_filled_beats_lower_cost():
    # Cheapest: only a->x (1 place, cost 0).  Correct: a->y and b->x
    # (2 places, cost 2 * MAX_COST): one more place is worth any cost.
    volunteers = [Volunteer("a", 1), Volunteer("b", 1)]
    posts = [Post("x", 1), Post("y", 1)]
    candidates = [
        Candidate("a", "x", 0),
        Candidate("a", "y", MAX_COST),
        Candidate("b", "x", MAX_COST),
    ]
    result = solve(volunteers, posts, candidates)
    assert result == Solution(
        assignments=[Assignment("a", "y", MAX_COST), Assignment("b", "x", MAX_COST)],
        filled=2,
        total_cost=2 * MAX_COST,
    )


def test_more_filled_beats_lower_cost_on_a_long_chain():
    # An augmenting path through many expensive arcs must still be taken:
    # v0 could take p0 for free, but shifting everyone along the chain
    # frees p0 for v_k and fills one place more.
    k = 30
    volunteers = [Volunteer(f"v{i:02d}", 1) for i in range(k + 1)]
    posts = [Post(f"p{i:02d}", 1) for i in range(k + 1)]
    candidates = [Candidate(f"v{i:02d}", f"p{i:02d}", 0) for i in range(k)]
    candidates += [Candidate(f"v{i:02d}", f"p{i + 1:02d}", MAX_COST) for i in range(k)]
    candidates.append(Candidate(f"v{k:02d}", "p00", MAX_COST))
    result = solve(volunteers, posts, candidates)
    assert result.filled == k + 1
    check_feasible(volunteers, posts, candidates, result)


def test_lower_cost_among_equally_filled():
    volunteers = [Volunteer("a", 1), Volunteer("b", 1)]
    posts = [Post("x", 1), Post("y", 1)]
    candidates = [
        Candidate("a", "x", 5),
        Candidate("a", "y", 1),
        Candidate("b", "x", 1),
        Candidate("b", "y", 5),
    ]
    result = solve(volunteers, posts, candidates)
    assert result.assignments == [Assignment("a", "y", 1), Assignment("b", "x", 1)]
    assert (result.filled, result.total_cost) == (2, 2)


def test_volunteer_fills_at_most_one_place_per_post():
    result = solve([Volunteer("a", 5)], [Post("x", 5)], [Candidate("a", "x", 3)])
    assert result == Solution([Assignment("a", "x", 3)], 1, 3)


def test_capacities_are_respected_on_both_sides():
    volunteers = [Volunteer(f"v{i}", 2) for i in range(4)]
    posts = [Post("big", 3), Post("small", 1), Post("other", 2)]
    candidates = [Candidate(v.id, p.id, 1) for v in volunteers for p in posts]
    result = solve(volunteers, posts, candidates)
    check_feasible(volunteers, posts, candidates, result)
    assert result.filled == 6  # all post places


def test_empty_instance():
    assert solve([], [], []) == Solution(assignments=[], filled=0, total_cost=0)


def test_no_candidates():
    result = solve([Volunteer("a", 3)], [Post("x", 3)], [])
    assert result == Solution([], 0, 0)


def test_zero_capacities():
    volunteers = [Volunteer("busy", 0), Volunteer("free", 1)]
    posts = [Post("closed", 0), Post("open", 2)]
    candidates = [
        Candidate("busy", "open", 0),
        Candidate("free", "closed", 0),
        Candidate("free", "open", 9),
    ]
    result = solve(volunteers, posts, candidates)
    assert result == Solution([Assignment("free", "open", 9)], 1, 9)


def test_all_capacities_zero():
    result = solve([Volunteer("a", 0)], [Post("x", 0)], [Candidate("a", "x", 1)])
    assert result == Solution([], 0, 0)


def test_slot_is_post():
    assert Slot is Post


def test_output_sorted_by_volunteer_then_post_ids():
    volunteers = [Volunteer(i, 3) for i in ("m10", "m2", "m1")]
    posts = [Post(i, 3) for i in ("p9", "p10", "p1")]
    candidates = [Candidate(v.id, p.id, 0) for v in volunteers for p in posts]
    result = solve(volunteers, posts, candidates)
    pairs = [(a.volunteer, a.post) for a in result.assignments]
    assert pairs == sorted((v.id, p.id) for v in volunteers for p in posts)


def test_result_does_not_depend_on_input_order():
    rng = random.Random(7)
    volunteers = [Volunteer(f"v{i}", rng.randint(1, 2)) for i in range(30)]
    posts = [Post(f"p{j}", rng.randint(1, 3)) for j in range(15)]
    pairs = rng.sample([(v.id, p.id) for v in volunteers for p in posts], 120)
    # Many ties: several optimal solutions exist.
    candidates = [Candidate(v, p, rng.randint(0, 2)) for v, p in pairs]
    first = solve(volunteers, posts, candidates)
    for _ in range(3):
        rng.shuffle(volunteers)
        rng.shuffle(posts)
        rng.shuffle(candidates)
        assert solve(volunteers, posts, candidates) == first


def test_accepts_generators():
    result = solve(
        (Volunteer(i, 1) for i in "ab"),
        (Post(i, 1) for i in "x"),
        (Candidate(v, "x", 1) for v in "ab"),
    )
    assert result.filled == 1


# --------------------------------------------------------------------------
# Invalid input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volunteers", "posts", "candidates", "message"),
    [
        ([Volunteer("a", 1), Volunteer("a", 2)], [], [], "duplicate volunteer id 'a'"),
        ([], [Post("x", 1), Post("x", 1)], [], "duplicate post id 'x'"),
        ([Volunteer("a", 1)], [Post("x", 1)], [Candidate("b", "x", 0)], "unknown volunteer 'b'"),
        ([Volunteer("a", 1)], [Post("x", 1)], [Candidate("a", "y", 0)], "unknown post 'y'"),
        (
            [Volunteer("a", 1)],
            [Post("x", 1)],
            [Candidate("a", "x", 0), Candidate("a", "x", 1)],
            "duplicate candidate pair ('a', 'x')",
        ),
        ([Volunteer("a", -1)], [], [], "volunteer capacities must be between 0"),
        ([], [Post("x", -2)], [], "post capacities must be between 0"),
        (
            [Volunteer("a", 1)],
            [Post("x", 1)],
            [Candidate("a", "x", -1)],
            "candidate costs must be between 0",
        ),
        (
            [Volunteer("a", 1)],
            [Post("x", 1)],
            [Candidate("a", "x", MAX_COST + 1)],
            "candidate costs must be between 0",
        ),
        (
            [Volunteer("a", 1)],
            [Post("x", 1)],
            [Candidate("a", "x", 1.5)],
            "candidate costs must be integers",
        ),
        ([Volunteer("a", 2**70)], [], [], "volunteer capacities must be between 0"),
    ],
)
def test_invalid_input_raises_value_error(volunteers, posts, candidates, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        solve(volunteers, posts, candidates)


# --------------------------------------------------------------------------
# Purity
# --------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["solver.py", "solve_io.py"])
def test_matcher_core_imports_no_web_or_database_code(module):
    path = Path(solver.__file__).with_name(module)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"flask", "flask_sqlalchemy", "sqlalchemy", "flask_login"}
    allowed_local = {"timebank.matching.solver"}
    assert {name for name in imported if name.startswith("timebank")} <= allowed_local
