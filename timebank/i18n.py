"""Translation catalogues: ``python -m timebank.i18n update|compile|check``.

Message ids are English; the zh_CN catalogue is the default UI language and must translate every
id. Each feature package with a ``translations/`` folder keeps its own catalogue, covering
``timebank/<feature>/`` and ``templates/<feature>/``, so features are translated (and reviewed)
next to their code; ``timebank/translations`` covers everything else. Flask-Babel merges all of
them at run time. Compiled ``.mo`` files are committed so an install needs no build step.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
#: zh_CN is kept under its CLDR name, which is what Babel looks up for "zh_CN".
LOCALES = ("zh_Hans_CN", "en")
DEFAULT = "zh_Hans_CN"


def catalogue_dirs() -> list[Path]:
    """Every translations folder: the root one first, then one per feature that has one."""
    dirs = [PACKAGE / "translations"]
    dirs += sorted(p / "translations" for p in PACKAGE.iterdir()
                   if p.is_dir() and (p / "translations").is_dir())
    return dirs


def _sources(tdir: Path) -> tuple[list[Path], list[Path]]:
    """(include paths, excluded feature paths) for a catalogue folder."""
    if tdir == PACKAGE / "translations":
        features = [d.parent for d in catalogue_dirs()[1:]]
        exclude = features + [ROOT / "templates" / f.name for f in features]
        return [PACKAGE, ROOT / "templates"], exclude
    feature = tdir.parent
    return [feature, ROOT / "templates" / feature.name], []


def extract(tdir: Path, pot: Path) -> None:
    include, exclude = _sources(tdir)
    files = []
    for base in include:
        if not base.exists():
            continue
        for f in sorted(base.rglob("*")):
            if f.suffix not in (".py", ".html") or "translations" in f.parts:
                continue
            if any(f.is_relative_to(e) for e in exclude):
                continue
            files.append(str(f.relative_to(ROOT)))
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output", "--omit-header",
         "-o", str(pot), *files],
        cwd=ROOT, check=True, capture_output=True,
    )


def update() -> None:
    for tdir in catalogue_dirs():
        with tempfile.TemporaryDirectory() as tmp:
            pot = Path(tmp) / "messages.pot"
            extract(tdir, pot)
            for locale in LOCALES:
                po = tdir / locale / "LC_MESSAGES" / "messages.po"
                cmd = "update" if po.exists() else "init"
                args = [sys.executable, "-m", "babel.messages.frontend", cmd, "-i", str(pot),
                        "-d", str(tdir), "-l", locale, "--no-wrap"]
                if cmd == "update":
                    args += ["--ignore-obsolete", "--no-fuzzy-matching"]
                subprocess.run(args, check=True, capture_output=True)
    compile_all()


def compile_all() -> None:
    for tdir in catalogue_dirs():
        for po in tdir.glob("*/LC_MESSAGES/messages.po"):
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with po.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog)


def untranslated() -> list[str]:
    """Problems: ids missing from a catalogue or without a zh_CN translation."""
    problems = []
    for tdir in catalogue_dirs():
        with tempfile.TemporaryDirectory() as tmp:
            pot = Path(tmp) / "messages.pot"
            extract(tdir, pot)
            with pot.open("rb") as fh:
                wanted = {m.id for m in read_po(fh) if m.id}
        po = tdir / DEFAULT / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            problems.append(f"{po}: missing")
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        have = {m.id: m for m in catalog if m.id}
        for mid in sorted(wanted, key=str):
            msg = have.get(mid)
            strings = msg.string if msg is not None else None
            empty = not strings or (isinstance(strings, tuple) and not all(strings))
            if msg is None or empty or msg.fuzzy:
                problems.append(f"{po.relative_to(ROOT)}: untranslated {mid!r}")
    return problems


def conflicts() -> list[str]:
    """Problems: one message id translated differently by two catalogues.

    Flask-Babel merges the catalogues into one, so only one of the translations would show, and
    which one depends on load order (the relay page once called its recipient 「结束」 because the
    posts catalogue's "To" won). A word that means two things needs two ids."""
    seen: dict[str, dict[str, list[str]]] = {}
    for tdir in catalogue_dirs():
        po = tdir / DEFAULT / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            for msg in read_po(fh):
                if msg.id and msg.string:
                    mid = msg.id if isinstance(msg.id, str) else msg.id[0]
                    text = msg.string if isinstance(msg.string, str) else "|".join(msg.string)
                    seen.setdefault(mid, {}).setdefault(text, []).append(tdir.parent.name)
    return [f"{mid!r} is translated differently: " + "; ".join(
                f"{text!r} in {', '.join(where)}" for text, where in texts.items())
            for mid, texts in sorted(seen.items()) if len(texts) > 1]


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "check"
    if cmd == "update":
        update()
    elif cmd == "compile":
        compile_all()
    elif cmd == "check":
        problems = untranslated() + conflicts()
        for p in problems:
            print(p)
        return 1 if problems else 0
    else:
        print("usage: python -m timebank.i18n update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
