"""The member's settings page and the admins' delivery log."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank.inbox import operations as inbox
from timebank.notify import delivery
from timebank.notify.models import Delivery, DeliveryPreference


def test_settings_without_channels_explains_and_saves_quiet_hours(app, db, tree, client):
    client.login(tree.member)
    page = client.get("/inbox/settings")
    assert page.status_code == 200 and "本平台尚未开通其他通知渠道" in page.text
    response = client.post("/inbox/settings", data={"quiet_start": "22:00", "quiet_end": "07:00"})
    assert response.status_code == 302
    pref = db.session.get(DeliveryPreference, tree.member.id)
    assert (pref.channels, pref.quiet_start, pref.quiet_end) == ("", dt.time(22), dt.time(7))
    assert "通知设置" in client.get("/inbox/").text


def test_member_chooses_channels(app, db, tree, client, smtp_server, wecom_server,
                                 notify_config):
    notify_config(smtp=smtp_server, wecom=wecom_server)
    client.login(tree.member)
    page = client.get("/inbox/settings")
    assert "电子邮件" in page.text and "企业微信群机器人" in page.text and "手机短信" not in page.text
    response = client.post("/inbox/settings", data={"channels": ["email", "wecom"],
                                                     "email": "jia@example.org"})
    assert response.status_code == 302
    db.session.expire_all()
    pref = db.session.get(DeliveryPreference, tree.member.id)
    assert (pref.channels, pref.email) == ("email,wecom", "jia@example.org")
    page = client.get("/inbox/settings")
    assert page.text.count("checked") == 2 and "jia@example.org" in page.text
    # Unticking every channel keeps the messages in the inbox only.
    assert client.post("/inbox/settings", data={"email": "jia@example.org"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(DeliveryPreference, tree.member.id).channels == ""


def test_bad_input_redisplays_in_chinese_and_saves_nothing(app, db, tree, client, smtp_server,
                                                           notify_config):
    notify_config(smtp=smtp_server)
    client.login(tree.member)
    response = client.post("/inbox/settings", data={"channels": ["email"]})
    assert response.status_code == 400 and "请填写接收消息的电子邮箱。" in response.text
    response = client.post("/inbox/settings", data={"channels": ["sms"]})
    assert response.status_code == 400 and "该通知渠道不可用。" in response.text
    response = client.post("/inbox/settings", data={"quiet_start": "22:00"})
    assert response.status_code == 400 and "同时填写" in response.text
    response = client.post("/inbox/settings", data={"quiet_start": "25:00", "quiet_end": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(DeliveryPreference, tree.member.id) is None


def test_settings_need_the_csrf_token(app, db, tree, client):
    client.login(tree.member)
    response = client.post("/inbox/settings", data={"quiet_start": "22:00", "quiet_end": "07:00"},
                           csrf=False)
    assert response.status_code == 400
    assert db.session.get(DeliveryPreference, tree.member.id) is None


def test_admin_sees_failures_and_retries(app, db, tree, client, wecom_server, notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    wecom_server.fail_first = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    inbox.send(tree.member, "报到已通过")
    db.session.commit()
    delivery.send_due(app.config)
    [row] = db.session.execute(select(Delivery)).scalars().all()
    client.login(tree.district_admin)
    page = client.get("/inbox/deliveries")
    assert page.status_code == 200
    assert "报到已通过" in page.text and "已放弃" in page.text and "93000" in page.text
    assert "robot-key" not in page.text
    response = client.post(f"/inbox/deliveries/{row.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Delivery, row.id).status == "queued"
    assert client.post("/inbox/deliveries/999999/retry").status_code == 404
    delivery.send_due(app.config)
    assert len(wecom_server.accepted) == 1
    assert "已发送" in client.get("/inbox/deliveries?status=sent").text
    assert client.get("/inbox/deliveries?status=bogus").status_code == 200
