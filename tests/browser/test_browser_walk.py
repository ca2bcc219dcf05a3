"""Walk every page each demo role reaches from its home, on a 390x844 phone, and fail on what a
phone user would hit: a page that errors, a page wider than the screen, a text cell squeezed
below 48 px, or a serious/critical WCAG 2.1 A/AA violation found by axe-core.

axe-core is vendored under tests/browser/vendor (MPL-2.0) and only ever injected by this test.
The walk follows links (not forms) breadth-first from the home page, two pages per URL shape
(``/posts/12`` and ``/posts/13`` are one shape), at most ``MAX_PAGES`` per role.
"""
from __future__ import annotations

import collections
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.phone_browser import MARKS, phone

pytestmark = MARKS

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
MAX_PAGES = 70
PER_SHAPE = 2
#: Links a walk must not follow: they log out, switch language, download files or change state.
#: A session page's check-in link is the QR code's target, for the members who scan it (staff
#: are refused it on purpose); its QR code (.svg) is an image, not a page.
SKIP = re.compile(r"/auth/logout|[?&]lang=|\.(pdf|xlsx|csv|png|jpg|svg|zip|json)(\?|$)|/export|/download"
                  r"|/metrics|/healthz|/readyz|/api/|/posts/checkin/")

MEASURE_JS = """() => {
  const width = window.innerWidth;
  const wide = document.documentElement.scrollWidth > width + 1;
  const narrow = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const text = cell.innerText.trim();
    if (!text) continue;
    const box = cell.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    // Visually hidden (the header row of a list stacked into cards is kept for screen readers).
    let hidden = false;
    for (let up = cell.parentElement; up && up.tagName !== 'TABLE'; up = up.parentElement) {
      if (up.getBoundingClientRect().width <= 2) { hidden = true; break; }
    }
    if (hidden) continue;
    if (box.width < 48) narrow.push(text.slice(0, 20) + ' (' + Math.round(box.width) + 'px)');
  }
  const over = [];
  if (wide) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 1 && r.width > 0) over.push(el.tagName.toLowerCase()
        + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
      if (over.length > 3) break;
    }
  }
  return {wide, scrollWidth: document.documentElement.scrollWidth, narrow, over};
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag',
      values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
      .map(v => v.id + ' x' + v.nodes.length + ' ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', '));
}"""


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _log_in(page, phone_number: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=phone]", phone_number)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def walk(page, base_url: str) -> tuple[list[str], list[str]]:
    """(pages walked, problems) for the logged-in ``page``, starting at its home."""
    host = urlsplit(base_url).netloc
    queue, seen, shapes = collections.deque(["/"]), {"/"}, collections.Counter()
    found_on = {"/": "login"}
    walked, problems = [], []
    while queue and len(walked) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(path)
        walked.append(path)
        status = response.status if response else 0
        if status >= 400:
            problems.append(f"{path}: HTTP {status} (linked from {found_on[path]})")
            continue
        figures = page.evaluate(MEASURE_JS)
        if figures["wide"]:
            problems.append(f"{path}: {figures['scrollWidth']} px wide ({', '.join(figures['over'])})")
        if figures["narrow"]:
            problems.append(f"{path}: cells under 48 px: {'; '.join(figures['narrow'][:4])}")
        page.add_script_tag(content=AXE)
        for violation in page.evaluate(AXE_JS):
            problems.append(f"{path}: axe {violation}")
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            parts = urlsplit(href)
            if parts.netloc != host or SKIP.search(href):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            shape = _shape(parts.path)
            if target in seen or shapes[shape] >= PER_SHAPE:
                continue
            seen.add(target)
            found_on[target] = path
            shapes[shape] += 1
            queue.append(target)
    return walked, problems


@pytest.fixture
def demo_district(app, db):
    from timebank import demo

    demo.seed()
    db.session.commit()
    return demo


def test_every_page_each_role_reaches_fits_a_phone(browser, live_server, demo_district, app):
    report, failures = [], []
    only = os.environ.get("WALK_ROLES")  # e.g. WALK_ROLES=member,unit_liaison while fixing
    for phone_number, role in demo_district.DEMO_LOGINS:
        if only and role.value not in only.split(","):
            continue
        page = phone(browser, live_server, bypass_csp=True)  # to inject axe
        _log_in(page, phone_number, demo_district.DEMO_PASSWORD)
        walked, problems = walk(page, live_server)
        report.append(f"{role.value}: {len(walked)} pages, {len(problems)} problems")
        failures += [f"[{role.value}] {p}" for p in problems]
        page.context.close()
    print("\n".join(report))
    assert not failures, "\n".join(report + failures)
