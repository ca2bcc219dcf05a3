"""Users' text in PDFs is printed as typed: reportlab markup in a name, a community name, a
ledger reason or a relay message adds no link and no styling, and markup reportlab rejects
does not break the document (issue 19)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from timebank.core import clock

PAYLOADS = [
    '<a href="http://evil.com">点我</a><font size=30 color=red>FAKE +1000h</font>',
    "<font size=>坏",
    "<b>未闭合",
    "A & B &amp; &#x41; &bogus;",
    "<para>段落</para>",
    '<img src="/etc/passwd"/>',
    "<link href='javascript:alert(1)'>x</link>",
    "]]> <![CDATA[ \"'<>",
]


def _text(pdf: bytes) -> str:
    """All the text of the document, whitespace removed (table cells wrap long text)."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def _assert_literal(response, *texts: str) -> None:
    assert response.status_code == 200, response.status_code
    assert response.data.startswith(b"%PDF")
    assert b"/URI" not in response.data and b"/Annot" not in response.data
    body = _text(response.data)
    for text in texts:
        assert "".join(text.split()) in body


def _member(db, user):
    from timebank.members.models import Member

    return db.session.query(Member).filter_by(user_id=user.id).one()


def _person(payload: str) -> str:
    """A person's name carrying the payload, cut to what the column holds (PostgreSQL refuses
    longer; the cut keeps it markup, only malformed)."""
    from timebank.accounts.models import User

    return ("甲" + payload)[:User.__table__.c.name.type.length]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_statement_pdf_prints_users_text_as_typed(client, db, tree, payload):
    from timebank.ledger import operations as ledger

    giver, receiver = _member(db, tree.member), _member(db, tree.member3)
    tree.member.name = _person(payload)
    tree.C1.name = "社" + payload
    db.session.flush()
    ledger.deposit(None, giver, 120, source_type="test", source_id=1, reason="原因" + payload)
    ledger.relay(None, giver, 60, to_member=receiver, reason="留言" + payload)
    db.session.commit()

    client.login(tree.member)
    r = client.get(f"/ledger/members/{giver.id}/statement.pdf")
    _assert_literal(r, _person(payload), "社" + payload, "原因" + payload, "留言" + payload)

    # The recipient's statement shows the giver's message and name: the attack in the issue.
    other = client.application.test_client()
    other.login(tree.member3)
    r = other.get(f"/ledger/members/{receiver.id}/statement.pdf")
    _assert_literal(r, "留言" + payload, _person(payload))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_feedback_card_pdfs_print_users_text_as_typed(client, db, tree, payload):
    from timebank.reports import operations

    tree.member.name = _person(payload)
    tree.C1.name = "社" + payload
    tree.U1.name = "院" + payload
    db.session.commit()
    local = lambda *a: dt.datetime(*a, tzinfo=clock.LOCAL_TZ)  # noqa: E731
    with clock.freeze(local(2026, 3, 25, 9)):
        operations.add_evaluation(tree.staff, _member(db, tree.member), dt.date(2026, 3, 1),
                                  "评语" + payload)
        db.session.commit()
    client.login(tree.liaison)
    with clock.freeze(local(2026, 4, 10, 9)):
        r = client.get(f"/reports/units/{tree.U1.id}/card.pdf?start=2026-03-01&end=2026-03-31")
        _assert_literal(r, _person(payload), "社" + payload, "院" + payload, "评语" + payload)
        card, _new = operations.make_card(tree.U1, dt.date(2026, 3, 1), dt.date(2026, 4, 1))
        db.session.commit()
        r = client.get(f"/reports/cards/{card.id}.pdf")
        _assert_literal(r, _person(payload), "院" + payload, "评语" + payload)


def test_para_escapes_and_keeps_line_breaks():
    from timebank.core.pdf import markup

    assert markup('<b>x</b> & "y"\n\x00z') == "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;<br/>z"
    assert markup(None) == "" and markup(12) == "12"
