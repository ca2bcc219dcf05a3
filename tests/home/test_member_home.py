"""The member's home: its figures against the ledger, the recognition setting and the inbox,
the next session, and recommendations in plain words."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from posts_fixtures import local_day
from tests.service_records import served
from timebank.core import clock


def test_star_progress():
    from timebank.home.member import star_progress

    p = star_progress(0, [100, 300])
    assert (p.level, p.next_level, p.next_hours, p.minutes_to_go, p.percent) == (0, 1, 100,
                                                                                 6000, 0)
    p = star_progress(200 * 60, [100, 300])
    assert (p.level, p.next_level, p.minutes_to_go, p.percent) == (1, 2, 6000, 50)
    p = star_progress(300 * 60, [100, 300])
    assert (p.level, p.next_level, p.minutes_to_go) == (2, None, 0)


@pytest.fixture
def member_with_history(db, tree, member_of, make_post, catalogue):
    """Verified 2 h last year and 3 h this year (one of 1 h withdrawn), 1.5 h pending, 1 h
    relayed away, an unread message, a claimed session in 3 days and a skill that fits a post
    on a Saturday morning."""
    from timebank.inbox import operations as inbox
    from timebank.ledger import operations as ledger
    from timebank.members import operations as members
    from timebank.posts import operations

    m = member_of(tree.member)
    today = clock.today()
    jan = clock.local_datetime(dt.date(today.year, 1, 1), dt.time(9))
    with clock.freeze(jan - dt.timedelta(days=3)):
        served(tree.staff, m, jan - dt.timedelta(days=4), 120)
    with clock.freeze(jan + dt.timedelta(hours=3)):
        served(tree.staff, m, jan, 180)
        withdrawn = served(tree.staff, m, jan + dt.timedelta(hours=1), 60)
        operations.revoke(tree.staff, withdrawn, "错误")
    served(tree.staff, m, clock.now() - dt.timedelta(days=1), 90, verify=False)
    db.session.commit()
    ledger.relay(tree.member, m, 60, to_member=member_of(tree.member3), reason="接力")
    inbox.send(tree.member, "测试消息", "内容")
    inbox.send(tree.member, "已读消息", "内容")
    db.session.flush()
    from timebank.inbox.models import Message
    from sqlalchemy import select

    read = db.session.execute(select(Message).where(Message.subject == "已读消息")).scalar_one()
    inbox.mark_read(read, tree.member)
    skill = members.create_skill(tree.district_admin, "理发", "Haircut")
    saturday = next(d for d in range(8, 15) if local_day(d).weekday() == 5)
    members.save_profile(tree.member, m, skills=[skill],
                         availability=[(local_day(saturday).weekday(), "morning")])
    db.session.commit()
    claimed = make_post(title="社区巡逻", days=(3,), place="东门")
    operations.claim(tree.member, m, claimed)
    make_post(title="义务理发", days=(saturday,), skill_ids=[skill.id], place="活动室")
    db.session.commit()
    return m, claimed


def _expected(db, tree, m):
    """The figures computed from the rows, not from the functions the home calls."""
    from sqlalchemy import func, select

    from timebank.accounts.models import User  # noqa: F401
    from timebank.inbox.models import Message
    from timebank.ledger.models import Account, Posting, Transaction

    acct = db.session.execute(select(Account).where(Account.member_id == m.id)).scalar_one()
    start, end = clock.local_year_bounds(clock.today().year)
    year = db.session.execute(select(func.sum(Transaction.service_minutes)).where(
        Transaction.service_account_id == acct.id, Transaction.created_at >= start,
        Transaction.created_at < end)).scalar_one()
    total = db.session.execute(select(func.sum(Transaction.service_minutes)).where(
        Transaction.service_account_id == acct.id)).scalar_one()
    balance = db.session.execute(select(func.sum(Posting.amount)).where(
        Posting.account_id == acct.id)).scalar_one()
    unread = db.session.execute(select(func.count()).select_from(Message).where(
        Message.recipient_id == tree.member.id, Message.read_at.is_(None))).scalar_one()
    return int(year), int(total), int(balance), int(unread)


def test_home_figures_match_the_database(client, db, tree, member_with_history):
    from timebank.ledger.util import format_hours

    m, claimed = member_with_history
    year, total, balance, unread = _expected(db, tree, m)
    assert (year, total, balance) == (180, 300, 240)
    client.login(tree.member)
    html = client.get("/").get_data(as_text=True)

    def text(id_):
        return re.sub(r"<[^>]+>", "", re.search(
            rf'id="{id_}"[^>]*>(.*?)</', html, re.S).group(1)).strip()

    assert text("year-hours") == format_hours(year)
    assert text("total-hours") == format_hours(total)
    assert text("balance-hours") == format_hours(balance)
    assert text("pending-count") == "1"
    assert text("unread-count") == str(unread)
    assert 'data-level="0"' in html and "再服务 95 小时升为 1 星" in html
    assert "社区巡逻" in html and "东门" in html and "取消认领" in html
    assert "义务理发" in html
    assert "您登记了理发特长" in html and "就在您报到的社区" in html
    assert re.search(r"(本|下)周六上午您有空|\d+月\d+日（周六）上午您有空", html)
    assert "成本" not in html and "cost" not in html.lower()


def test_staff_keep_the_general_home(client, db, tree):
    client.login(tree.staff)
    html = client.get("/").get_data(as_text=True)
    assert 'id="year-hours"' not in html


def test_new_member_home_is_all_zero_with_a_way_forward(client, db, tree, make_member):
    m = make_member()
    client.login(m.user)
    html = client.get("/").get_data(as_text=True)
    for id_ in ("year-hours", "total-hours", "balance-hours"):
        assert re.search(rf'id="{id_}"[^>]*>0<', html), id_
    assert "您还没有待参加的场次" in html and "去找岗位" in html
    assert "请先填写特长爱好和服务意愿登记表" in html
