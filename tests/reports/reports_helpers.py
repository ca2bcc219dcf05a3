"""Shared helpers of the reports tests: posts, sessions, claims and verified service written
straight through the models (the posts feature's own flows are tested there)."""
from __future__ import annotations

import datetime as dt
import itertools

from timebank.core import clock

SH = clock.LOCAL_TZ
_ids = itertools.count(1)


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def member_of(db, user):
    from timebank.members.models import Member

    return db.session.query(Member).filter_by(user_id=user.id).one()


def catalogue(db):
    """Two categories with a kind each; returns (kind_a, kind_b)."""
    from timebank.catalogue.models import PostCategory, PostKind

    kinds = []
    for pos, (code, name) in enumerate((("convenience", "便民服务"), ("caring", "爱心帮扶"))):
        cat = PostCategory(code=code, name=name, name_en=code, position=pos)
        db.session.add(cat)
        db.session.flush()
        kind = PostKind(category_id=cat.id, code=f"{code}-01", name=f"{name}一", name_en="",
                        position=0)
        db.session.add(kind)
        kinds.append(kind)
    db.session.commit()
    return kinds


def session(db, community, kind, starts: dt.datetime, capacity=5, status="published"):
    from timebank.posts.models import Post, PostSession

    post = Post(community_id=community.id, kind_id=kind.id, title=f"岗位{next(_ids)}",
                capacity=capacity, status=status, schedule={}, created_at=clock.now())
    db.session.add(post)
    db.session.flush()
    s = PostSession(post_id=post.id, starts_at=starts, ends_at=starts + dt.timedelta(hours=2),
                    capacity=capacity, claimed=0, minutes_credit=120)
    db.session.add(s)
    db.session.commit()
    return s


def claim(db, sess, user, attendance=None, status="active"):
    from timebank.posts.models import Claim

    c = Claim(session_id=sess.id, post_id=sess.post_id, member_id=member_of(db, user).id,
              status=status, attendance=attendance, created_at=clock.now())
    sess.claimed += 1
    db.session.add(c)
    db.session.commit()
    return c


def verified(db, user, sess, minutes, at):
    """A verified service record for the session, deposited at ``at``."""
    from timebank.ledger import operations as ledger
    from timebank.posts.models import ServiceRecord

    member = member_of(db, user)
    record = ServiceRecord(member_id=member.id, community_id=member.community_id,
                           source="attendance", post_id=sess.post_id,
                           kind_id=sess.post.kind_id, started_at=sess.starts_at,
                           ended_at=sess.ends_at, minutes=minutes, status="verified",
                           flags=[], created_at=at)
    db.session.add(record)
    db.session.flush()
    with clock.freeze(at):
        tx = ledger.deposit(None, member, minutes, source_type="service_record",
                            source_id=record.id, reason="服务")
    record.transaction_id = tx.id
    db.session.commit()
    return tx
