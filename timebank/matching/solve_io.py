"""JSON input/output for the matcher CLI (``timebank match solve``).

Input format::

    {"volunteers": [{"id": "m1", "capacity": 2}],
     "posts": [{"id": "p1", "capacity": 3}],
     "candidates": [{"volunteer": "m1", "post": "p1", "cost": 17}]}

Output format::

    {"assignments": [{"volunteer": "m1", "post": "p1", "cost": 17}],
     "filled": 1, "total_cost": 17}

Validation is strict (unknown keys are rejected too, so that a typo such as
``"capasity"`` is not silently ignored).  Every error is reported as a
:class:`ProblemError` whose message is one line naming the offending element,
e.g. ``candidates[3]: unknown volunteer 'm9'``.

No Flask, no database: this module is usable from any command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from timebank.matching.solver import (
    MAX_CAPACITY,
    MAX_COST,
    Candidate,
    Post,
    Solution,
    SolverError,
    Volunteer,
    solve,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_INVALID",
    "EXIT_OK",
    "ProblemError",
    "dump_solution",
    "load_problem",
    "run_solve",
]

EXIT_OK = 0
EXIT_ERROR = 1  # could not write the output, or the solver failed
EXIT_INVALID = 2  # invalid input: nothing written

_MAX_SHOWN = 60  # longest excerpt of a user value quoted in a message


class ProblemError(ValueError):
    """Invalid problem input.  ``str(error)`` is a single line."""

    def __init__(self, message: str) -> None:
        # Guarantee the one-line promise whatever went into the message.
        super().__init__(" ".join(str(message).split()))


def _describe(value: object) -> str:
    """Short one-line description of a JSON value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."
    if isinstance(value, float):
        return f"{value!r} (a number with a fraction or exponent)"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...'"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - json only yields the above


def _quote(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= _MAX_SHOWN else shown[:_MAX_SHOWN] + "...'"


def _reject_constant(name: str) -> object:
    raise ProblemError(f"invalid JSON: {name} is not allowed")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise ProblemError(f"invalid JSON: duplicate key {_quote(key)} in an object")
        obj[key] = value
    return obj


def _object(value: object, where: str, keys: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise ProblemError(f"{where}: must be an object, got {_describe(value)}")
    for key in keys:
        if key not in value:
            raise ProblemError(f"{where}: missing key {_quote(key)}")
    for key in value:
        if key not in keys:
            raise ProblemError(f"{where}: unknown key {_quote(key)}")
    return value


def _array(value: object, where: str) -> list:
    if not isinstance(value, list):
        raise ProblemError(f"{where}: must be an array, got {_describe(value)}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProblemError(f"{where}: must be a non-empty string, got {_describe(value)}")
    return value


def _count(value: object, where: str, upper: int) -> int:
    # bool is a subclass of int and 1.0 == 1, but neither is an integer here.
    if type(value) is not int or value < 0:
        raise ProblemError(f"{where}: must be a non-negative integer, got {_describe(value)}")
    if value > upper:
        raise ProblemError(f"{where}: must be at most {upper}, got {_describe(value)}")
    return value


def _entities(
    data: dict, key: str, make: Callable[[str, int], Volunteer | Post]
) -> tuple[list, dict[str, int]]:
    items = []
    first_at: dict[str, int] = {}
    for i, raw in enumerate(_array(data[key], key)):
        where = f"{key}[{i}]"
        obj = _object(raw, where, ("id", "capacity"))
        ident = _string(obj["id"], f"{where}.id")
        capacity = _count(obj["capacity"], f"{where}.capacity", MAX_CAPACITY)
        if ident in first_at:
            raise ProblemError(
                f"{where}: duplicate id {_quote(ident)} (first at {key}[{first_at[ident]}])"
            )
        first_at[ident] = i
        items.append(make(ident, capacity))
    return items, first_at


def _check_candidate(raw: object, i: int, vol_index: dict, post_index: dict, pair_at: dict) -> None:
    """Raise the ProblemError describing what is wrong with candidate ``i``."""
    where = f"candidates[{i}]"
    obj = _object(raw, where, ("volunteer", "post", "cost"))
    vol = _string(obj["volunteer"], f"{where}.volunteer")
    post = _string(obj["post"], f"{where}.post")
    _count(obj["cost"], f"{where}.cost", MAX_COST)
    if vol not in vol_index:
        raise ProblemError(f"{where}: unknown volunteer {_quote(vol)}")
    if post not in post_index:
        raise ProblemError(f"{where}: unknown post {_quote(post)}")
    if (vol, post) in pair_at:
        raise ProblemError(
            f"{where}: duplicate pair ({_quote(vol)}, {_quote(post)})"
            f" (first at candidates[{pair_at[vol, post]}])"
        )


def load_problem(text: str) -> tuple[list[Volunteer], list[Post], list[Candidate]]:
    """Parse and validate a problem; raise :class:`ProblemError` on the first error."""
    try:
        data = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys
        )
    except json.JSONDecodeError as exc:
        raise ProblemError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ProblemError("invalid JSON: nested too deeply") from None

    _object(data, "top level", ("volunteers", "posts", "candidates"))

    volunteers, vol_index = _entities(data, "volunteers", Volunteer)
    posts, post_index = _entities(data, "posts", Post)

    raw_candidates = _array(data["candidates"], "candidates")
    candidates = []
    pair_at: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(raw_candidates):
        # Fast path for the common, valid element; anything unusual goes
        # through _check_candidate, which names the exact problem.
        if type(raw) is dict and len(raw) == 3:
            vol = raw.get("volunteer")
            post = raw.get("post")
            cost = raw.get("cost")
            if (
                type(cost) is int
                and 0 <= cost <= MAX_COST
                and type(vol) is str
                and type(post) is str
                and vol in vol_index
                and post in post_index
            ):
                pair = (vol, post)
                if pair not in pair_at:
                    pair_at[pair] = i
                    candidates.append(Candidate(vol, post, cost))
                    continue
        _check_candidate(raw, i, vol_index, post_index, pair_at)
        raise AssertionError(f"candidates[{i}] failed the fast path only")  # pragma: no cover
    return volunteers, posts, candidates


def dump_solution(solution: Solution) -> str:
    """Serialise a solution (assignments in the solver's order), newline-terminated."""
    doc = {
        "assignments": [
            {"volunteer": a.volunteer, "post": a.post, "cost": a.cost} for a in solution.assignments
        ],
        "filled": solution.filled,
        "total_cost": solution.total_cost,
    }
    return json.dumps(doc, ensure_ascii=False) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file next to ``path``, then rename it into place."""
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def run_solve(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str]) -> int:
    """Read a problem, solve it, write the solution; return the exit code.

    0: solved, output written.  2: invalid input (one line on stderr, no
    output written).  1: the output could not be written or the solver failed.
    """
    try:
        raw = Path(input_path).read_bytes()
    except OSError as exc:
        print(f"input: cannot read {os.fspath(input_path)!r}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        print(f"input: not valid UTF-8 at byte offset {exc.start}", file=sys.stderr)
        return EXIT_INVALID
    del raw

    try:
        volunteers, posts, candidates = load_problem(text)
    except ProblemError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    del text

    try:
        solution = solve(volunteers, posts, candidates)
    except (ValueError, SolverError) as exc:  # pragma: no cover - input was validated
        print(f"solver: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR

    try:
        _write_atomically(Path(output_path), dump_solution(solution))
    except OSError as exc:
        print(f"output: cannot write {os.fspath(output_path)!r}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":  # manual testing: python -m timebank.matching.solve_io IN OUT
    if len(sys.argv) != 3:
        print("usage: python -m timebank.matching.solve_io INPUT OUTPUT", file=sys.stderr)
        sys.exit(EXIT_INVALID)
    sys.exit(run_solve(sys.argv[1], sys.argv[2]))
