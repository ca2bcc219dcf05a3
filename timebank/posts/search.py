"""Keyword search over posts: title, description, place, kind and category, in Chinese, in full
pinyin (「lifa」) and in pinyin initials (「lf」).

Each post has one row in ``post_search`` holding a normalized *search body* (lower case): the
original text of its fields, their full pinyin, their initials, and a *short-term section*
(below). The body is rewritten by :func:`index_post` whenever the posts operations create or edit
a post, and a query is a ``LIKE`` on it that the database answers from an index:

* SQLite: ``post_search`` is an FTS5 table with the ``trigram`` tokenizer (SQLite >= 3.34), whose
  rowid is the post id; FTS5 answers ``LIKE '%...%'`` from its trigram index.
* PostgreSQL: ``post_search`` is a plain table with a ``pg_trgm`` GIN index on the body.

A trigram index cannot find a term shorter than three characters (「理发」, 「lf」: the most common
Chinese queries are two characters). So the body also lists, as words on their own between
spaces, every one- and two-character piece of the *short fields* (title, place, kind, category,
in their original text, full pinyin and initials). A term of one or two characters is then
searched as ``'% term %'``: three or four characters with the spaces, which both indexes use.
It can only match where the term really occurs, so it never returns a wrong post; the price is
that a one- or two-character term does not look into the description (three or more do).

pypinyin costs tens of megabytes when imported, so it is imported on first use, never at start.
"""
from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from timebank.extensions import db

#: The description is indexed up to this many characters.
DESCRIPTION_CHARS = 1000
#: A query keeps at most this many terms, each at most TERM_CHARS long.
MAX_TERMS = 5
TERM_CHARS = 40

_SEARCH_SQLITE = sa.table("post_search", sa.column("rowid", sa.Integer), sa.column("body"))
_SEARCH_PG = sa.table("post_search", sa.column("post_id", sa.Integer), sa.column("body"))
# LIKE wildcards and the escape character are never part of a term (a query cannot widen
# itself), nor are the separators the body uses.
_NOT_TERM = re.compile(r"[%_\\\s]+")


def _pinyin(text: str) -> tuple[str, str]:
    """``text`` in full pinyin and in initials, lower case ("理发 A" -> ("lifa a", "lf a"))."""
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(text, errors="default")).lower()
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")).lower()
    return full, initials


def _clean(text: str | None) -> str:
    # NFKC: full-width letters and digits typed on a phone keyboard become ASCII.
    return unicodedata.normalize("NFKC", text or "").lower()


def _pieces(text: str) -> set[str]:
    out: set[str] = set()
    for word in _NOT_TERM.split(text):
        out.update(word)
        out.update(word[i:i + 2] for i in range(len(word) - 1))
    return out


def search_body(title: str, description: str = "", place: str = "", kind: str = "",
                category: str = "") -> str:
    """The normalized text a post is searched by (see the module docstring)."""
    short = [_clean(t) for t in (title, place, kind, category)]
    description = _clean(description)[:DESCRIPTION_CHARS]
    lines = list(short) + [description]
    pieces: set[str] = set()
    for text in short:
        full, initials = _pinyin(text)
        lines += [full, initials]
        pieces |= _pieces(text) | _pieces(full) | _pieces(initials)
    if description:
        lines += list(_pinyin(description))
    lines = [_NOT_TERM.sub(" ", line).strip() for line in lines]
    return "\n".join(line for line in lines if line) + "\n " + " ".join(sorted(pieces)) + " "


def body_of(post) -> str:
    kind = post.kind
    return search_body(post.title, post.description, post.place,
                       kind.name if kind else "", kind.category.name if kind else "")


def terms(query: str | None) -> list[str]:
    """The terms of a typed query (lower case, deduplicated, at most :data:`MAX_TERMS`)."""
    out: list[str] = []
    for term in _NOT_TERM.split(_clean(query)):
        term = term[:TERM_CHARS]
        if term and term not in out:
            out.append(term)
    return out[:MAX_TERMS]


def _pattern(term: str) -> str:
    return f"%{term}%" if len(term) >= 3 else f"% {term} %"


def matching_post_ids(query_terms: list[str]):
    """A select of the ids of posts whose body contains every term (for ``Post.id.in_``)."""
    sqlite = db.engine.dialect.name == "sqlite"
    table = _SEARCH_SQLITE if sqlite else _SEARCH_PG
    id_col = table.c.rowid if sqlite else table.c.post_id
    return sa.select(id_col).where(*[table.c.body.like(_pattern(t)) for t in query_terms])


def index_post(post) -> None:
    """Write the post's search body (after the post was flushed, so it has an id)."""
    write_bodies([(post.id, body_of(post))])


def write_bodies(rows: list[tuple[int, str]], connection=None) -> None:
    """Upsert ``(post_id, body)`` rows (also used by the migration's backfill and the bench)."""
    if not rows:
        return
    conn = connection if connection is not None else db.session.connection()
    params = [{"id": pid, "body": body} for pid, body in rows]
    if conn.dialect.name == "sqlite":
        # FTS5 has no upsert: delete, then insert.
        conn.execute(sa.text("DELETE FROM post_search WHERE rowid = :id"), params)
        conn.execute(sa.text("INSERT INTO post_search (rowid, body) VALUES (:id, :body)"), params)
    else:
        conn.execute(sa.text(
            "INSERT INTO post_search (post_id, body) VALUES (:id, :body) "
            "ON CONFLICT (post_id) DO UPDATE SET body = excluded.body"), params)


def reindex_all(connection=None, batch: int = 1000) -> int:
    """Rewrite every post's search body (the migration's backfill; after a kind is renamed)."""
    conn = connection if connection is not None else db.session.connection()
    stmt = sa.text(
        "SELECT p.id, p.title, p.description, p.place, k.name, c.name FROM posts p "
        "JOIN post_kinds k ON k.id = p.kind_id JOIN post_categories c ON c.id = k.category_id "
        "WHERE p.id > :after ORDER BY p.id LIMIT :n")
    after, count = 0, 0
    while True:
        rows = conn.execute(stmt, {"after": after, "n": batch}).all()
        if not rows:
            return count
        write_bodies([(r[0], search_body(r[1], r[2] or "", r[3] or "", r[4], r[5]))
                      for r in rows], conn)
        after, count = rows[-1][0], count + len(rows)
