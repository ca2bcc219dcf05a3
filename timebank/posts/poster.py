"""The share poster of a post: a PNG with its title, next time, place and a QR code of its
link, drawn on the server with Pillow, for members to send to a WeChat group.

Pillow needs a font file with Chinese glyphs (reportlab's built-in CID font, which the PDFs use,
is not one). The app ships none (they weigh megabytes): it uses ``TIMEBANK_POSTER_FONT`` or the
first of the usual system fonts found; without one, :class:`NoFont` is raised and the page says
so instead of drawing empty boxes.
"""
from __future__ import annotations

import functools
import io
import os

import segno

from timebank.core.errors import DomainError

#: Fonts tried in order when TIMEBANK_POSTER_FONT is not set (Debian/Ubuntu package names in
#: the comments).
CANDIDATE_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",          # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",            # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc",              # fonts-arphic-uming
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
WIDTH, HEIGHT = 750, 1100
PARTY_RED = (200, 16, 46)


class NoFont(DomainError):
    code = "poster_font_missing"
    status = 503


def font_path(configured: str = "") -> str | None:
    for path in ((configured,) if configured else ()) + CANDIDATE_FONTS:
        if path and os.path.isfile(path):
            return path
    return None


@functools.lru_cache(maxsize=16)
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def _wrap(draw, text: str, font, width: int, max_lines: int) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (character by character: Chinese has no
    spaces to break at), the last one ellipsised when there are more."""
    lines, line = [], ""
    for ch in text.replace("\n", " "):
        if draw.textlength(line + ch, font=font) > width:
            lines.append(line)
            line = ch.lstrip()
        else:
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def render(*, title: str, when: str, place: str, organiser: str, link: str, heading: str,
           caption: str, font_file: str = "") -> bytes:
    """The poster as PNG bytes."""
    from PIL import Image, ImageDraw

    path = font_path(font_file)
    if path is None:
        from flask_babel import lazy_gettext as _l

        raise NoFont(_l("The server has no Chinese font for posters; ask the administrator to "
                        "install one (e.g. fonts-wqy-microhei)."))
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 140), fill=PARTY_RED)
    draw.text((WIDTH // 2, 70), heading, font=_font(path, 44), fill="white", anchor="mm")
    y = 190
    for line in _wrap(draw, title, _font(path, 52), WIDTH - 100, 3):
        draw.text((50, y), line, font=_font(path, 52), fill=(20, 20, 20))
        y += 70
    y += 20
    for text in (when, place, organiser):
        for line in _wrap(draw, text, _font(path, 32), WIDTH - 100, 2):
            draw.text((50, y), line, font=_font(path, 32), fill=(60, 60, 60))
            y += 46
        y += 8
    qr = io.BytesIO()
    segno.make(link, error="m").save(qr, kind="png", scale=10, border=2)
    qr_image = Image.open(io.BytesIO(qr.getvalue())).convert("RGB")
    side = min(400, HEIGHT - y - 110)
    qr_image = qr_image.resize((side, side), Image.NEAREST)
    top = max(y + 20, HEIGHT - side - 110)
    image.paste(qr_image, ((WIDTH - side) // 2, top))
    draw.text((WIDTH // 2, top + side + 40), caption, font=_font(path, 28), fill=(90, 90, 90),
              anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
