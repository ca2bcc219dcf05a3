"""Notifications that reach people: inbox messages delivered over e-mail, a 企业微信 group
robot, a signed webhook and SMS, with retries, backoff, quiet hours and a delivery log; and
one-time codes (``operations.send_code``)."""
