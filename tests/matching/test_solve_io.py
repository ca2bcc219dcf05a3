"""Tests for the matcher's JSON input/output (timebank.matching.solve_io)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timebank.matching.solve_io import (
    ProblemError,
    dump_solution,
    load_problem,
    run_solve,
)
from timebank.matching.solver import (
    MAX_CAPACITY,
    MAX_COST,
    Assignment,
    Candidate,
    Post,
    Solution,
    Volunteer,
    solve,
)

VALID = {
    "volunteers": [{"id": "m1", "capacity": 2}, {"id": "m2", "capacity": 1}],
    "posts": [{"id": "p1", "capacity": 3}, {"id": "p2", "capacity": 1}],
    "candidates": [
        {"volunteer": "m1", "post": "p1", "cost": 17},
        {"volunteer": "m1", "post": "p2", "cost": 4},
        {"volunteer": "m2", "post": "p2", "cost": 1},
    ],
}


def variant(**changes) -> str:
    """VALID with some top-level lists replaced, as JSON text."""
    doc = json.loads(json.dumps(VALID))
    doc.update(changes)
    return json.dumps(doc)


def with_candidate(extra: dict) -> str:
    return variant(candidates=[*VALID["candidates"], extra])


def with_volunteer(extra) -> str:
    return variant(volunteers=[*VALID["volunteers"], extra])


def with_post(extra) -> str:
    return variant(posts=[*VALID["posts"], extra])


# (input text, exact one-line message)
INVALID = [
    pytest.param("", "invalid JSON at line 1 column 1: Expecting value", id="empty"),
    pytest.param(
        '{"volunteers": [}',
        "invalid JSON at line 1 column 17: Expecting value",
        id="malformed",
    ),
    pytest.param(
        '{"volunteers": [],\n "posts": [] "candidates": []}',
        "invalid JSON at line 2 column 14: Expecting ',' delimiter",
        id="malformed-line-2",
    ),
    pytest.param(
        '{"volunteers": [], "posts": [], "candidates": []} x',
        "invalid JSON at line 1 column 51: Extra data",
        id="trailing-garbage",
    ),
    pytest.param("[]", "top level: must be an object, got an array", id="top-array"),
    pytest.param(
        '{"volunteers": [], "posts": []}',
        "top level: missing key 'candidates'",
        id="missing-candidates",
    ),
    pytest.param(
        '{"volunteers": [], "posts": [], "candidates": [], "extra": 1}',
        "top level: unknown key 'extra'",
        id="unknown-top-key",
    ),
    pytest.param(
        '{"volunteers": [], "volunteers": [], "posts": [], "candidates": []}',
        "invalid JSON: duplicate key 'volunteers' in an object",
        id="duplicate-key",
    ),
    pytest.param(
        variant(volunteers={"id": "m1"}),
        "volunteers: must be an array, got an object",
        id="volunteers-not-array",
    ),
    pytest.param(variant(posts=None), "posts: must be an array, got null", id="posts-null"),
    pytest.param(
        with_volunteer("m3"),
        "volunteers[2]: must be an object, got 'm3'",
        id="volunteer-not-object",
    ),
    pytest.param(
        with_volunteer({"id": "m3"}),
        "volunteers[2]: missing key 'capacity'",
        id="volunteer-missing-capacity",
    ),
    pytest.param(
        with_volunteer({"id": "m3", "capacity": 1, "capasity": 2}),
        "volunteers[2]: unknown key 'capasity'",
        id="volunteer-unknown-key",
    ),
    pytest.param(
        with_volunteer({"id": 3, "capacity": 1}),
        "volunteers[2].id: must be a non-empty string, got 3",
        id="volunteer-id-int",
    ),
    pytest.param(
        with_volunteer({"id": "", "capacity": 1}),
        "volunteers[2].id: must be a non-empty string, got ''",
        id="volunteer-id-empty",
    ),
    pytest.param(
        with_volunteer({"id": "m1", "capacity": 1}),
        "volunteers[2]: duplicate id 'm1' (first at volunteers[0])",
        id="volunteer-duplicate",
    ),
    pytest.param(
        with_volunteer({"id": "m3", "capacity": True}),
        "volunteers[2].capacity: must be a non-negative integer, got true (a boolean)",
        id="capacity-bool",
    ),
    pytest.param(
        with_volunteer({"id": "m3", "capacity": 1.0}),
        "volunteers[2].capacity: must be a non-negative integer,"
        " got 1.0 (a number with a fraction or exponent)",
        id="capacity-float",
    ),
    pytest.param(
        with_volunteer({"id": "m3", "capacity": "2"}),
        "volunteers[2].capacity: must be a non-negative integer, got '2'",
        id="capacity-string",
    ),
    pytest.param(
        variant(posts=[{"id": "p1", "capacity": -1}]),
        "posts[0].capacity: must be a non-negative integer, got -1",
        id="capacity-negative",
    ),
    pytest.param(
        with_post({"id": "p3", "capacity": MAX_CAPACITY + 1}),
        f"posts[2].capacity: must be at most {MAX_CAPACITY}, got {MAX_CAPACITY + 1}",
        id="capacity-too-large",
    ),
    pytest.param(
        with_post({"id": "p1", "capacity": 1}),
        "posts[2]: duplicate id 'p1' (first at posts[0])",
        id="post-duplicate",
    ),
    pytest.param(
        with_post({"id": "p3", "capacity": float("nan")}),
        "invalid JSON: NaN is not allowed",
        id="nan",
    ),
    pytest.param(
        with_candidate({"volunteer": "m9", "post": "p1", "cost": 1}),
        "candidates[3]: unknown volunteer 'm9'",
        id="unknown-volunteer",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p9", "cost": 1}),
        "candidates[3]: unknown post 'p9'",
        id="unknown-post",
    ),
    pytest.param(
        with_candidate({"volunteer": "m1", "post": "p1", "cost": 2}),
        "candidates[3]: duplicate pair ('m1', 'p1') (first at candidates[0])",
        id="duplicate-pair",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p1"}),
        "candidates[3]: missing key 'cost'",
        id="candidate-missing-cost",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p1", "cost": 2.5}),
        "candidates[3].cost: must be a non-negative integer,"
        " got 2.5 (a number with a fraction or exponent)",
        id="cost-float",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p1", "cost": -3}),
        "candidates[3].cost: must be a non-negative integer, got -3",
        id="cost-negative",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p1", "cost": False}),
        "candidates[3].cost: must be a non-negative integer, got false (a boolean)",
        id="cost-bool",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2", "post": "p1", "cost": MAX_COST + 1}),
        f"candidates[3].cost: must be at most {MAX_COST}, got {MAX_COST + 1}",
        id="cost-too-large",
    ),
    pytest.param(
        with_candidate({"volunteer": ["m2"], "post": "p1", "cost": 1}),
        "candidates[3].volunteer: must be a non-empty string, got an array",
        id="candidate-volunteer-array",
    ),
    pytest.param(
        with_candidate({"volunteer": "m2\nevil", "post": "p1", "cost": 1}),
        "candidates[3]: unknown volunteer 'm2\\nevil'",
        id="newline-in-id-stays-one-line",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_load_problem_rejects(text, message):
    with pytest.raises(ProblemError) as info:
        load_problem(text)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_run_solve_invalid_input_exits_2_without_output(tmp_path, capsys, text, message):
    src = tmp_path / "in.json"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out.json"
    assert run_solve(src, out) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message + "\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]


def test_long_values_are_shortened():
    text = with_candidate({"volunteer": "x" * 500, "post": "p1", "cost": 1})
    with pytest.raises(ProblemError) as info:
        load_problem(text)
    assert str(info.value).startswith("candidates[3]: unknown volunteer 'xxx")
    assert len(str(info.value)) < 120


def test_deeply_nested_json_is_an_error_not_a_crash():
    with pytest.raises(ProblemError) as info:
        load_problem("[" * 100_000 + "]" * 100_000)
    assert "\n" not in str(info.value)


def test_load_problem_valid():
    volunteers, posts, candidates = load_problem(json.dumps(VALID))
    assert volunteers == [Volunteer("m1", 2), Volunteer("m2", 1)]
    assert posts == [Post("p1", 3), Post("p2", 1)]
    assert candidates == [
        Candidate("m1", "p1", 17),
        Candidate("m1", "p2", 4),
        Candidate("m2", "p2", 1),
    ]


def test_load_problem_accepts_empty_lists_and_zero_values():
    text = json.dumps(
        {
            "volunteers": [{"id": "m1", "capacity": 0}],
            "posts": [{"id": "p1", "capacity": 0}],
            "candidates": [{"volunteer": "m1", "post": "p1", "cost": 0}],
        }
    )
    assert load_problem(text) == (
        [Volunteer("m1", 0)],
        [Post("p1", 0)],
        [Candidate("m1", "p1", 0)],
    )
    assert load_problem('{"volunteers": [], "posts": [], "candidates": []}') == ([], [], [])


def test_dump_solution_format():
    solution = Solution([Assignment("m1", "p1", 17)], filled=1, total_cost=17)
    assert dump_solution(solution) == (
        '{"assignments": [{"volunteer": "m1", "post": "p1", "cost": 17}],'
        ' "filled": 1, "total_cost": 17}\n'
    )


def test_dump_solution_keeps_unicode():
    solution = Solution([Assignment("党员1", "岗位", 0)], filled=1, total_cost=0)
    assert json.loads(dump_solution(solution))["assignments"][0]["volunteer"] == "党员1"
    assert "党员1" in dump_solution(solution)


def test_run_solve_round_trip(tmp_path, capsys):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(VALID), encoding="utf-8")
    out = tmp_path / "out.json"
    assert run_solve(str(src), str(out)) == 0
    assert capsys.readouterr().err == ""
    result = json.loads(out.read_text(encoding="utf-8"))
    # m2 -> p2 (1) and m1 -> p1 (17): 2 places.  m1 -> p2 + m1 -> p1 would
    # also be 2 places but cost 21.
    assert result == {
        "assignments": [
            {"volunteer": "m1", "post": "p1", "cost": 17},
            {"volunteer": "m2", "post": "p2", "cost": 1},
        ],
        "filled": 2,
        "total_cost": 18,
    }
    # The file is exactly what dump_solution gives for solve() on the input.
    assert out.read_text(encoding="utf-8") == dump_solution(solve(*load_problem(src.read_text())))
    # Output -> its assignments, when fed back as the only candidates, are
    # reproduced unchanged (valid problem, same optimum).
    again = variant(candidates=result["assignments"])
    again_src = tmp_path / "again.json"
    again_src.write_text(again, encoding="utf-8")
    again_out = tmp_path / "again-out.json"
    assert run_solve(again_src, again_out) == 0
    assert json.loads(again_out.read_text(encoding="utf-8")) == result
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "again-out.json",
        "again.json",
        "in.json",
        "out.json",
    ]


def test_run_solve_replaces_existing_output(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(VALID), encoding="utf-8")
    out = tmp_path / "out.json"
    out.write_text("old", encoding="utf-8")
    assert run_solve(src, out) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["filled"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.json"]


def test_run_solve_invalid_input_leaves_existing_output_alone(tmp_path):
    src = tmp_path / "in.json"
    src.write_text("{", encoding="utf-8")
    out = tmp_path / "out.json"
    out.write_text("old", encoding="utf-8")
    assert run_solve(src, out) == 2
    assert out.read_text(encoding="utf-8") == "old"


def test_run_solve_accepts_utf8_bom(tmp_path):
    src = tmp_path / "in.json"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(VALID).encode())
    assert run_solve(src, tmp_path / "out.json") == 0


def test_run_solve_rejects_non_utf8(tmp_path, capsys):
    src = tmp_path / "in.json"
    src.write_bytes(b'{"volunteers": [{"id": "\xff", "capacity": 1}]}')
    out = tmp_path / "out.json"
    assert run_solve(src, out) == 2
    assert capsys.readouterr().err == "input: not valid UTF-8 at byte offset 24\n"
    assert not out.exists()


def test_run_solve_missing_input(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert run_solve(tmp_path / "nope.json", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("input: cannot read ")
    assert err.count("\n") == 1
    assert not out.exists()


def test_run_solve_unwritable_output(tmp_path, capsys):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(VALID), encoding="utf-8")
    out = tmp_path / "missing-dir" / "out.json"
    assert run_solve(src, out) == 1
    err = capsys.readouterr().err
    assert err.startswith("output: cannot write ")
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]


def test_output_file_permissions_follow_umask(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(VALID), encoding="utf-8")
    out = tmp_path / "out.json"
    old = os.umask(0o022)
    try:
        assert run_solve(src, out) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_module_entry_point(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(with_candidate({"volunteer": "m9", "post": "p1", "cost": 1}), encoding="utf-8")
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "timebank.matching.solve_io", str(src), str(out)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == "candidates[3]: unknown volunteer 'm9'\n"
    assert not out.exists()


_json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, MAX_COST + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["m1", "m2", "m9", "p1", "p2", ""]),
    st.lists(st.just("m1"), max_size=1),
)
_candidate_objects = st.one_of(
    st.fixed_dictionaries(
        {"volunteer": st.sampled_from(["m1", "m2"]), "post": st.sampled_from(["p1", "p2"])},
        optional={"cost": st.integers(0, MAX_COST)},
    ),
    st.dictionaries(
        st.sampled_from(["volunteer", "post", "cost", "extra"]), _json_values, max_size=4
    ),
    _json_values,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_candidate_objects, max_size=5))
def test_candidates_are_either_accepted_exactly_or_rejected_with_one_line(raw_candidates):
    text = variant(candidates=raw_candidates)
    try:
        _, _, candidates = load_problem(text)
    except ProblemError as exc:
        message = str(exc)
        assert message.startswith("candidates")
        assert "\n" not in message
        return
    assert [(c.volunteer, c.post, c.cost) for c in candidates] == [
        (r["volunteer"], r["post"], r["cost"]) for r in raw_candidates
    ]
    for r in raw_candidates:
        assert type(r["cost"]) is int
        assert r["volunteer"] in {"m1", "m2"}
        assert r["post"] in {"p1", "p2"}
    assert len({(r["volunteer"], r["post"]) for r in raw_candidates}) == len(raw_candidates)
