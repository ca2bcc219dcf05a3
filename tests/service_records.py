"""Service records for tests of what members read (statement, home, certificate): a record of
service done at a given time, verified by staff through the posts operations (which deposit)."""
from __future__ import annotations

import datetime as dt


def served(staff, member, start: dt.datetime, minutes: int, *, post=None, verify=True,
           description: str = "社区服务"):
    """A service record of ``member`` starting at ``start`` (aware) for ``minutes``; verified
    by ``staff`` (and so deposited) unless ``verify`` is False. Flushed, not committed."""
    from timebank.extensions import db
    from timebank.posts import operations
    from timebank.posts.models import RecordSource, RecordStatus, ServiceRecord

    record = ServiceRecord(
        member_id=member.id, community_id=post.community_id if post else member.community_id,
        source=RecordSource.ATTENDANCE.value if post else RecordSource.REPORTED.value,
        post_id=post.id if post else None, kind_id=post.kind_id if post else None,
        description=description, started_at=start,
        ended_at=start + dt.timedelta(minutes=minutes), minutes=minutes,
        status=RecordStatus.PENDING.value, flags=[], created_at=start)
    db.session.add(record)
    db.session.flush()
    if verify:
        operations.verify(staff, record)
    return record


def decode_qr(pdf_bytes: bytes) -> str:
    """The text of the one QR code drawn on a PDF's first page (zxing-cpp on its images)."""
    import io

    import zxingcpp
    from PIL import Image
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    found = []
    for image in page.images:
        picture = Image.open(io.BytesIO(image.data)).convert("L")
        found += [b.text for b in zxingcpp.read_barcodes(picture)]
    assert len(found) == 1, found
    return found[0]
