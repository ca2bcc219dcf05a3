"""Scan to check in on a phone, with a real camera stream: Chromium's fake camera plays a .y4m
video of a QR code, the page decodes the frames itself (jsQR, or the browser's BarcodeDetector)
and checks in through the server. The assertions read the database.

Each test writes its own video (the fake camera's file is fixed when Chromium starts), so each
launches its own browser."""
from __future__ import annotations

import re


from tests.browser.phone_browser import MARKS, chromium, log_in
from tests.browser.phone_browser import phone as _phone
from timebank.core import clock


pytestmark = MARKS

WIDTH, HEIGHT = 640, 480


def write_y4m(path, luma: bytes, frames: int = 10) -> None:
    """A still .y4m video (4:2:0, full-range luma) of a grey picture: the Y plane is the
    picture, the chroma planes are neutral (128)."""
    assert len(luma) == WIDTH * HEIGHT
    chroma = b"\x80" * ((WIDTH // 2) * (HEIGHT // 2))
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            fh.write(b"FRAME\n")
            fh.write(luma)
            fh.write(chroma)
            fh.write(chroma)


def write_qr_video(path, text: str) -> None:
    """A video of ``text`` as a QR code (segno), black on white, centred."""
    import segno

    matrix = [list(row) for row in segno.make(text, error="m").matrix]
    size = len(matrix)
    border = 4
    scale = min(WIDTH, HEIGHT) // (size + 2 * border)
    assert scale >= 4, "code too dense for the frame"
    y = bytearray(b"\xff" * (WIDTH * HEIGHT))
    left = (WIDTH - size * scale) // 2
    top = (HEIGHT - size * scale) // 2
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + r * scale + dy) * WIDTH + left + c * scale
                    y[start:start + scale] = b"\x00" * scale
    write_y4m(path, bytes(y))


def write_picture_video(path, png: bytes) -> None:
    """A video of a screenshot (e.g. a phone's screen showing a code), grey, centred."""
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("L")
    picture.thumbnail((HEIGHT - 20, HEIGHT - 20))
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(picture, ((WIDTH - picture.width) // 2, (HEIGHT - picture.height) // 2))
    write_y4m(path, frame.tobytes())


def camera_browser(video_path):
    """Headless Chromium whose camera shows ``video_path``."""
    return chromium("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={video_path}")


def phone(browser, base_url, geolocation=None):
    return _phone(browser, base_url, geolocation=geolocation, timeout=20000,
                  permissions=["camera"] + (["geolocation"] if geolocation else []))






def scan_result(page) -> str:
    """Open the scanner and wait for the answer to the first code the camera shows."""
    from playwright.sync_api import expect

    page.goto("/scan/")
    result = page.locator("#scan-result")
    expect(result).to_have_class(re.compile(r"alert-(success|warning|danger)"))
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the scanner page is wider than the phone"
    return result.inner_text()


def _claim(db, session_id, member_id):
    from sqlalchemy import select

    from timebank.posts.models import Claim

    db.session.rollback()  # a fresh snapshot: what the server committed
    return db.session.execute(select(Claim).where(
        Claim.session_id == session_id, Claim.member_id == member_id,
        Claim.status == "active")).scalar_one_or_none()


def test_members_scan_the_session_code_claimed_walk_in_and_full(
        app, db, tree, live_server, make_post, make_member, member_of, tmp_path):
    """One session with 2 places, one claimed online. The claimant scans: checked in. A member
    without a claim scans: signed up and checked in (the last place), from ~1 km away, which is
    recorded. A third scans: refused, the session is full, and nothing is written."""
    from timebank.posts import operations, qr

    post = make_post(title="扫码签到测试岗位", capacity=2, days=(1,))
    operations.set_location(None, post, operations.Position(31.2304, 121.4737))
    session = post.sessions[0]
    claimant = member_of(tree.member)
    operations.claim(tree.member, claimant, post)
    walker, late = make_member(), make_member()
    db.session.commit()
    with app.test_request_context(base_url=live_server):
        url = qr.checkin_url(session)
    video = tmp_path / "session-qr.y4m"
    write_qr_video(video, url)

    with clock.freeze(session.starts_at + (session.ends_at - session.starts_at) / 8), \
            camera_browser(video) as browser:
        page = phone(browser, live_server)
        log_in(page, tree.member)
        message = scan_result(page)
        assert "签到成功" in message, message
        claim = _claim(db, session.id, claimant.id)
        assert claim.checked_in_at == clock.now() and claim.attendance == "attended"

        page = phone(browser, live_server, geolocation={"latitude": 31.2404,
                                                        "longitude": 121.4737})
        log_in(page, walker.user)
        message = scan_result(page)
        assert "现场报名并签到" in message and "米" in message, message
        claim = _claim(db, session.id, walker.id)
        assert claim is not None and claim.checked_in_at is not None
        assert 1000 < claim.checkin_distance_m < 1300

        page = phone(browser, live_server)
        log_in(page, late.user)
        message = scan_result(page)
        assert "名额已满" in message, message
        assert _claim(db, session.id, late.id) is None
    db.session.rollback()
    assert session.claimed == 2


def test_staff_scan_a_members_personal_code_off_their_phone(
        app, db, tree, live_server, make_post, make_member, tmp_path):
    """The member opens 我的签到码; the picture on their screen is what the staff's fake camera
    shows; the staff's scanner, in staff mode for the one session they manage that is open,
    checks the member in (a walk-in). So the page's own code image is what gets decoded."""
    from playwright.sync_api import expect

    post = make_post(title="工作人员扫码岗位", capacity=3, days=(1,))
    session = post.sessions[0]
    member = make_member()
    moment = session.starts_at + (session.ends_at - session.starts_at) / 8
    blank = tmp_path / "blank.y4m"
    write_y4m(blank, b"\xff" * (WIDTH * HEIGHT))
    screen = tmp_path / "member-screen.y4m"

    with clock.freeze(moment):
        with camera_browser(blank) as browser:
            page = phone(browser, live_server)
            log_in(page, member.user)
            page.goto("/scan/my-code")
            image = page.locator("#my-code")
            expect(image).to_be_visible()
            page.wait_for_function(
                "document.getElementById('my-code').naturalWidth > 0")
            write_picture_video(screen, image.screenshot())
        with camera_browser(screen) as browser:
            page = phone(browser, live_server)
            log_in(page, tree.staff)
            page.goto("/scan/")
            result = page.locator("#scan-result")
            expect(result).to_have_class(re.compile(r"alert-(success|warning|danger)"))
            text = result.inner_text()
            assert member.user.name in text, text
            expect(page.locator("#count-in")).to_have_text("1")
    claim = _claim(db, session.id, member.id)
    assert claim is not None and claim.checked_in_at is not None
