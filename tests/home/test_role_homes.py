"""The homes of community staff, unit liaisons and street/district admins: each role sees its
own sections and no one else's, every count on the home is the number of rows the page it
links to lists (fetched and counted here), the liaison's reminder goes out once a day, and a
liaison sees only their own unit's card."""
from __future__ import annotations

import datetime as dt
import html as htmllib
import itertools
import re

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric

from tests.conftest import PASSWORD_HASH
from tests.service_records import served
from timebank.core import clock

_ids = itertools.count(501)


def id_number() -> str:
    body = f"11010519800101{next(_ids) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(autouse=True)
def morning():
    """Every test runs at 07:00 tomorrow (Asia/Shanghai): after the tree was made, before the
    day's sessions start."""
    at = clock.local_datetime(clock.today() + dt.timedelta(days=1), dt.time(7))
    with clock.freeze(at):
        yield at


def _register(tree, name, community, grid, unit, phone):
    from timebank.members import operations

    return operations.register_with_hash(phone, name, id_number(), PASSWORD_HASH, community,
                                         grid, unit)


def _section(page: str, id_: str) -> str:
    """The HTML of ``<section id=...>`` (sections do not nest)."""
    m = re.search(rf'<section[^>]*id="{id_}".*?</section>', page, re.S)
    assert m, f"no section {id_}"
    return m.group(0)


def _item(page: str, id_: str) -> tuple[str, int]:
    """(href, count) of a home item."""
    m = re.search(rf'<a [^>]*href="([^"]+)"[^>]*id="{id_}" data-count="(\d+)"', page)
    assert m, f"no item {id_}"
    return htmllib.unescape(m.group(1)), int(m.group(2))


def _rows(client, href: str, pattern: str) -> int:
    r = client.get(href)
    assert r.status_code == 200, href
    return len(re.findall(pattern, r.text))


# --- community staff --------------------------------------------------------------------------


@pytest.fixture
def staff_world(db, tree, make_post, make_member, member_of, catalogue):
    """C1: a session today (2 of 3 claimed) and tomorrow (0 of 2), two records to verify, a
    registration to approve, two open needs (and a withdrawn one), a post with places in 5 days
    and matcher proposals for it; C3 has one of each that C1's staff must not count."""
    from timebank.lists import operations as lists
    from timebank.matching import operations as matching
    from timebank.members import operations as members
    from timebank.posts import operations as posts

    today = make_post(title="今日巡逻", capacity=3, days=(0,), place="东门")
    tomorrow = make_post(title="明日理发", capacity=2, days=(1,), start="14:00", end="16:00")
    later = make_post(title="下周义诊", capacity=4, days=(5,))
    make_post(community=tree.C3, title="丙社区岗位", capacity=2, days=(0,))
    a, b = make_member(name="甲一"), make_member(name="甲二")
    for m in (a, b):
        posts.claim(m.user, m, today)
    served(tree.staff, a, clock.now() - dt.timedelta(days=2), 60, verify=False)
    served(tree.staff, b, clock.now() - dt.timedelta(days=2), 90, verify=False)
    c3 = make_member(community=tree.C3, name="丙一")
    served(tree.staff3, c3, clock.now() - dt.timedelta(days=2), 60, verify=False)
    _register(tree, "待批甲", tree.C1, tree.G1a, tree.U1, "13911112001")
    _register(tree, "待批丙", tree.C3, tree.G3a, tree.U2, "13911112002")
    category = catalogue["convenience-01"].category
    for title, community in (("独居老人助餐", tree.C1), ("楼道清理", tree.C1),
                             ("丙社区需求", tree.C3), ("已撤回", tree.C1)):
        d = lists.create_demand(None, lists.DemandData(community=community, category=category,
                                                       title=title))
        if title == "已撤回":
            lists.withdraw_demand(tree.staff, d)
    # Members willing to do the kind, free at any time: the matcher proposes them.
    for name in ("愿甲", "愿乙"):
        m = make_member(name=name)
        members.save_profile(None, m, kinds=[catalogue["convenience-01"]],
                             availability=[(d, s) for d in range(7)
                                           for s in ("morning", "afternoon", "evening")])
    db.session.commit()
    matching.run_matching(None, tree.C1)
    db.session.commit()
    return {"today": today, "tomorrow": tomorrow, "later": later}


def test_staff_home_counts_match_the_pages(client, db, tree, staff_world):
    client.login(tree.staff)
    page = client.get("/").text
    staff = _section(page, "role-staff")
    assert "unit-" not in page and 'id="role-jobs"' not in page and "role-admin" not in page

    # Sessions: today's with its fill, tomorrow's; each links to its session page, whose
    # claim list has as many rows as the fill says.
    today = re.search(r'id="sessions-today".*?</div>\s*(?:<div class="small|</?h3)', staff, re.S)
    sessions = re.findall(r'href="(/posts/manage/sessions/\d+)" data-claimed="(\d+)" '
                          r'data-capacity="(\d+)"', staff)
    assert [(c, p) for _h, c, p in sessions] == [("2", "3"), ("0", "2")]
    assert "今日巡逻" in today.group(0) and "东门" in today.group(0)
    assert "丙社区岗位" not in staff
    for href, claimed, _cap in sessions:
        assert _rows(client, href, r'name="claim_ids" value="') == int(claimed)

    checks = {
        "staff-records": r'class="record-row"',
        "staff-registrations": r'name="member_ids" value="',
        "staff-needs": r'href="/lists/demands/\d+"',
        "staff-proposals": r'name="ids" value="',
    }
    expected = {"staff-records": 2, "staff-registrations": 1, "staff-needs": 2}
    for id_, pattern in checks.items():
        href, n = _item(staff, id_)
        assert _rows(client, href, pattern) == n, id_
        if id_ in expected:
            assert n == expected[id_], id_
    assert _item(staff, "staff-proposals")[1] > 0

    # Posts with places left: all three C1 posts have coming sessions with free places; each
    # links to the post's page, which lists that many sessions with places.
    posts = re.findall(r'class="list-group-item list-group-item-action unfilled-post" '
                       r'href="(/posts/manage/\d+)" data-sessions="(\d+)" data-places="(\d+)"',
                       staff)
    assert re.search(r'id="staff-unfilled-total">3<', staff)
    assert len(posts) == 3
    for href, n, places in posts:
        text = client.get(href).text
        fills = [(int(c), int(p)) for c, p in re.findall(r"<td>(\d+) / (\d+)</td>", text)]
        assert sum(1 for c, p in fills if c < p) == int(n)
        assert sum(p - c for c, p in fills) == int(places)


def test_staff_of_another_community_sees_their_own(client, db, tree, staff_world):
    client.login(tree.staff3)
    staff = _section(client.get("/").text, "role-staff")
    assert _item(staff, "staff-records")[1] == 1
    assert _item(staff, "staff-registrations")[1] == 1
    assert _item(staff, "staff-needs")[1] == 1
    assert "丙社区岗位" in staff and "今日巡逻" not in staff


# --- unit liaison -----------------------------------------------------------------------------


@pytest.fixture
def unit_world(db, tree, member_of):
    """U1: member (approved, no form), a rejected registration, a pending one; 1.5 h verified
    for member this month, 1 h last month. U2: member3, and a stored card."""
    from timebank.members import operations as members
    from timebank.reports import operations as reports

    m = member_of(tree.member)
    now = clock.now()
    month_start, _ = clock.local_month_bounds(now)
    with clock.freeze(month_start - dt.timedelta(days=3)):
        served(tree.staff, m, month_start - dt.timedelta(days=4), 60)
    served(tree.staff, m, max(month_start, now - dt.timedelta(hours=5)), 90)
    rejected = _register(tree, "被退回", tree.C1, tree.G1a, tree.U1, "13911113001")
    members.reject(tree.staff, rejected, "请补充信息")
    pending = _register(tree, "等审核", tree.C2, tree.G2a, tree.U1, "13911113002")
    start = (clock.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    end = clock.today().replace(day=1)
    other, _new = reports.make_card(tree.U2, start, end)
    db.session.commit()
    return {"member": m, "rejected": rejected, "pending": pending, "other_card": other}


def _messages(db, user) -> int:
    from timebank.inbox.models import Message

    return db.session.execute(select(func.count()).select_from(Message).where(
        Message.recipient_id == user.id)).scalar_one()


def test_liaison_home(client, db, tree, unit_world):
    from timebank import measures

    client.login(tree.liaison)
    page = client.get("/").text
    unit = _section(page, f"unit-{tree.U1.id}")
    assert 'id="role-staff"' not in page and "role-admin" not in page
    assert f"unit-{tree.U2.id}" not in page and "中学" not in unit

    # Figures: this month against last, from the measures.
    def fig(name):
        m = re.search(rf'id="figure-{name}" data-this="(-?\d+)" data-last="(-?\d+)"', unit)
        return int(m.group(1)), int(m.group(2))

    assert fig("verified_service_minutes") == (90, 60)
    this, last = (measures.Period(*clock.local_month_bounds(clock.now())),
                  measures.Period(*clock.local_month_bounds(
                      clock.local_month_bounds(clock.now())[0] - dt.timedelta(seconds=1))))
    assert fig("reported_members") == (measures.reported_members(tree.U1, this),
                                       measures.reported_members(tree.U1, last))
    assert fig("registered_members") == (measures.registered_members(tree.U1, this),
                                         measures.registered_members(tree.U1, last))
    assert fig("active_members") == (1, 1)
    assert "1.5 小时" in unit and "/measures/#reported_members" in unit
    for name in ("registered_members", "reported_members", "active_members",
                 "verified_service_minutes"):
        assert measures.REGISTRY[name].label in _section(unit, f"unit-{tree.U1.id}")

    # Each state's count is the number of rows of the liaison page filtered to it.
    for state, n in (("not_reported", 1), ("pending", 1), ("form_missing", 1)):
        href, count = _item(unit, f"unit-{tree.U1.id}-{state}")
        assert count == n
        assert _rows(client, href, r'href="/members/\d+/card"') == n
    names = re.findall(r'class="list-group-item[^"]*waiting-member" data-member="(\d+)"', unit)
    assert len(names) == 3
    # Pending waits on the community: no button for it.
    assert unit.count('class="btn btn-sm btn-outline-party remind"') == 2

    # The latest card is on the page: last month's, computed (no card stored for U1 yet),
    # with its page, PDF and spreadsheet beside it.
    card = re.search(r'class="card feedback-card".*?</details>', unit, re.S).group(0)
    assert "表现反馈卡" in card and "党员甲" in card and "等审核" in card
    assert "尚未发送" in card or "还没有" in card
    for cls, check in (("card-html", lambda r: "党员甲" in r.text),
                       ("card-pdf", lambda r: r.data.startswith(b"%PDF")),
                       ("card-xlsx", lambda r: r.data[:2] == b"PK")):
        href = htmllib.unescape(re.search(rf'class="[^"]*{cls}" href="([^"]+)"', card).group(1))
        r = client.get(href)
        assert r.status_code == 200 and check(r), cls


def test_liaison_home_shows_the_stored_card(client, db, tree, unit_world):
    from timebank.reports import operations as reports

    start = (clock.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    stored, _ = reports.make_card(tree.U1, start, clock.today().replace(day=1))
    db.session.commit()
    client.login(tree.liaison)
    unit = _section(client.get("/").text, f"unit-{tree.U1.id}")
    assert f'href="/reports/cards/{stored.id}.pdf"' in unit
    assert f'href="/reports/cards/{stored.id}"' in unit
    assert f'href="/reports/cards/{stored.id}.xlsx"' in unit


def test_liaison_cannot_see_another_units_card(client, db, tree, unit_world):
    client.login(tree.liaison)
    other = unit_world["other_card"]
    assert client.get(f"/reports/cards/{other.id}").status_code == 404
    assert client.get(f"/reports/cards/{other.id}.pdf").status_code == 404
    assert client.get(f"/reports/units/{tree.U2.id}/card").status_code == 404
    assert f"/reports/cards/{other.id}" not in client.get("/").text


def test_remind_once_a_day(client, db, tree, unit_world):
    from timebank.audit.models import AuditEvent

    m = unit_world["member"]
    client.login(tree.liaison)
    url = f"/home/units/{tree.U1.id}/members/{m.id}/remind"
    before = _messages(db, tree.member)
    r = client.post(url, follow_redirects=True)
    assert r.status_code == 200 and "已向党员甲发送提醒" in r.text
    assert _messages(db, tree.member) == before + 1
    assert db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "unit.remind", AuditEvent.target_id == tree.U1.id)).scalar_one() == 1
    unit = _section(r.text, f"unit-{tree.U1.id}")
    assert re.search(rf'data-member="{m.id}".*?已提醒', unit, re.S)

    r = client.post(url, follow_redirects=True)
    assert "党员甲今天已经提醒过" in r.text and "明天" in r.text
    assert _messages(db, tree.member) == before + 1
    # The liaison page's own reminder keeps to the same rule.
    client.post(f"/members/unit/{tree.U1.id}/remind", data={"member_ids": [str(m.id)]})
    assert _messages(db, tree.member) == before + 1

    with clock.freeze(clock.now() + dt.timedelta(days=1)):
        client.post(url)
    assert _messages(db, tree.member) == before + 2


def test_remind_refuses_what_it_cannot_do(client, db, tree, unit_world, member_of):
    client.login(tree.liaison)
    pending = unit_world["pending"]
    before = _messages(db, pending.user)
    r = client.post(f"/home/units/{tree.U1.id}/members/{pending.id}/remind",
                    follow_redirects=True)
    assert "社区正在审核" in r.text
    assert _messages(db, pending.user) == before
    # Another unit's member, or another unit: 404, nothing sent.
    m3 = member_of(tree.member3)
    before3 = _messages(db, tree.member3)
    assert client.post(f"/home/units/{tree.U1.id}/members/{m3.id}/remind").status_code == 404
    assert client.post(f"/home/units/{tree.U2.id}/members/{m3.id}/remind").status_code == 404
    assert _messages(db, tree.member3) == before3
    # Without the CSRF token: refused.
    assert client.post(f"/home/units/{tree.U1.id}/members/{unit_world['member'].id}/remind",
                       csrf=False).status_code == 400


# --- street and district admins ---------------------------------------------------------------


@pytest.fixture
def admin_world(db, tree, member_of, make_user):
    """C1: 1 member approved of 2 registered (one pending); C2: 1 of 1; C3: member3 of 1.
    A published civilised-citizen list of S1, a failed run of the ledger job."""
    from timebank.jobs.models import JobRun
    from timebank.recognition import operations as recognition

    _register(tree, "待批甲", tree.C1, tree.G1a, tree.U1, "13911114001")
    make_user("member", tree.C2, name="乙社区党员", grid=tree.G2a)
    served(tree.staff, member_of(tree.member), clock.now() - dt.timedelta(hours=3), 120)
    db.session.commit()
    award = recognition.draw_list(tree.street_admin, clock.today().year, "civilised_citizen",
                                  tree.S1, 3)
    recognition.publish(tree.street_admin, award)
    now = clock.now()
    db.session.add(JobRun(job_id="ledger.verify", scheduled_for=now - dt.timedelta(hours=5),
                          started_at=now - dt.timedelta(hours=5),
                          finished_at=now - dt.timedelta(hours=5), outcome="failed",
                          error="boom"))
    db.session.add(JobRun(job_id="posts.mark_no_shows", scheduled_for=now - dt.timedelta(hours=9),
                          started_at=now - dt.timedelta(hours=9),
                          finished_at=now - dt.timedelta(hours=9), outcome="failed",
                          error="old"))
    db.session.add(JobRun(job_id="posts.mark_no_shows", scheduled_for=now - dt.timedelta(hours=4),
                          started_at=now - dt.timedelta(hours=4),
                          finished_at=now - dt.timedelta(hours=4), outcome="ok"))
    db.session.commit()
    return {"award": award}


def test_street_admin_home(client, db, tree, admin_world):
    client.login(tree.street_admin)
    page = client.get("/").text
    section = _section(page, f"scope-{tree.S1.id}")
    assert 'id="role-staff"' not in page and "feedback-card" not in page
    assert 'id="role-jobs"' not in page  # jobs are the district's
    assert f"scope-{tree.D.id}" not in page
    m = re.search(r'id="figure-verified_service_minutes" data-this="(\d+)"', section)
    assert int(m.group(1)) == 120
    # Lowest reported rate: C1 (50%); C2 is at 100%, C3 is another street's.
    lowest = re.search(r'class="list-group lowest-reported">(.*?)</div>\s*<h3', section, re.S)
    names = re.findall(r'data-community="([^"]+)"', lowest.group(1))
    assert names == ["甲社区"] and "丙社区" not in section
    assert "50%" in lowest.group(1)
    # The dashboard it links to shows the same rate for the community.
    href = htmllib.unescape(re.search(r'class="[^"]*lowest" href="([^"]+)"', section).group(1))
    dash = client.get(href).text
    assert re.search(r"<td>甲社区</td>(?:<td[^>]*>[^<]*</td>){2}<td[^>]*>50%</td>", dash)
    # The list in public notice, linking to its page.
    award = admin_world["award"]
    notices = re.findall(r'class="list-group-item list-group-item-action notice" '
                         r'href="(/recognition/awards/\d+)" data-objections="(\d+)"', section)
    assert notices == [(f"/recognition/awards/{award.id}", "0")]
    assert client.get(notices[0][0]).status_code == 200


def test_district_admin_home_and_failed_jobs(client, db, tree, admin_world):
    client.login(tree.district_admin)
    page = client.get("/").text
    section = _section(page, f"scope-{tree.D.id}")
    assert "丙社区" in section
    assert 'id="role-staff"' not in page and "feedback-card" not in page
    assert f"scope-{tree.S1.id}" not in page  # the district admin holds no street role
    jobs = _section(page, "role-jobs")
    failed = re.findall(r'href="(/jobs/[^"]+)" data-job="([^"]+)"', jobs)
    # The no-show job failed once but its latest run succeeded: only the ledger job is listed.
    assert [j for _h, j in failed] == ["ledger.verify"]
    detail = client.get(failed[0][0])
    assert detail.status_code == 200 and "boom" in detail.text
    assert len(re.findall(r'class="list-group-item list-group-item-action notice"', section)) == 1


def test_a_user_with_several_roles_sees_a_section_per_role_in_order(
        client, db, tree, admin_world, make_user):
    from timebank.accounts import operations as accounts

    user = tree.staff
    accounts.assign_role(None, user, "unit_liaison", tree.U1)
    accounts.assign_role(None, user, "street_admin", tree.S1)
    db.session.commit()
    client.login(user)
    page = client.get("/").text
    order = [page.index(s) for s in ('id="role-staff"', f'id="unit-{tree.U1.id}"',
                                     f'id="scope-{tree.S1.id}"')]
    assert order == sorted(order)
    assert 'id="role-jobs"' not in page and 'id="role-member"' not in page

    # A member who is also community staff: the staff's section, then a short member's one.
    accounts.assign_role(None, tree.member, "community_staff", tree.C1)
    db.session.commit()
    other = client.application.test_client()
    other.login(tree.member)
    page = other.get("/").text
    assert page.index('id="role-staff"') < page.index('id="role-member"')
    assert 'id="year-hours"' not in page and "/ledger/" in _section(page, "role-member")


def test_member_keeps_the_member_home(client, db, tree):
    client.login(tree.member)
    page = client.get("/").text
    assert 'id="year-hours"' in page
    assert "role-staff" not in page and "feedback-card" not in page


def test_the_unit_page_opens_cards_as_pages(client, db, tree, unit_world):
    """查看反馈卡 and a stored card's month open the card's page; PDF and Excel sit beside it."""
    from timebank.reports import operations as reports

    start = (clock.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    stored, _ = reports.make_card(tree.U1, start, clock.today().replace(day=1))
    db.session.commit()
    client.login(tree.liaison)
    page = client.get(f"/reports/units/{tree.U1.id}").text
    action = re.search(r'<form method="get" action="([^"]+)"', page).group(1)
    assert action == f"/reports/units/{tree.U1.id}/card"
    r = client.get(action, query_string={"start": start.isoformat(),
                                         "end": (clock.today().replace(day=1)
                                                 - dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 200 and r.mimetype == "text/html" and "党员甲" in r.text
    assert f'href="/reports/cards/{stored.id}"' in page
    r = client.get(f"/reports/cards/{stored.id}")
    assert r.mimetype == "text/html" and f'href="/reports/cards/{stored.id}.pdf"' in r.text
