"""Text for reportlab PDFs.

reportlab's ``Paragraph`` parses its text as markup (``<a href>``, ``<font>``, ``<img>``,
``<para>``...): a user's name or message put in as it is can add a live link or forged styling
to someone else's document, and markup reportlab rejects makes the whole PDF fail, for ever if
the text sits in the append-only ledger. Every PDF builds its paragraphs with :func:`para`,
which escapes the text, so what a user typed is printed as typed.

The font is reportlab's built-in CID font STSong-Light, which renders Chinese with no font file.
"""
from __future__ import annotations

import re
from xml.sax.saxutils import escape

FONT = "STSong-Light"

# C0 controls other than tab and newline, and DEL: reportlab's parser refuses some of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def markup(text) -> str:
    """``text`` (any value, ``None`` as empty) as Paragraph markup that shows it literally;
    line breaks are kept."""
    value = "" if text is None else str(text)
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return escape(value, {'"': "&quot;"}).replace("\n", "<br/>")


def para(text, style):
    """A Paragraph showing ``text`` as typed: never interpreted as markup."""
    from reportlab.platypus import Paragraph

    return Paragraph(markup(text), style)
