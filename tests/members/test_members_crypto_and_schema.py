"""Field encryption, keyed lookups, identifier validation and the members schema."""
from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from timebank.core import clock, crypto
from timebank.core.errors import Invalid
from timebank.members import identity
from timebank.members.models import (SLOTS, availability_to_mask, mask_id_number,
                                     mask_to_availability, slot_of)

MY_TABLES = {"members", "member_profiles", "member_profile_skills", "member_profile_categories",
             "member_profile_kinds", "skills", "unit_reports"}


def test_encrypt_round_trip_and_context_binding(app):
    token = crypto.encrypt("11010519491231002X", "members.id_number")
    assert token.startswith("v1:") and "11010519491231002X" not in token
    assert crypto.decrypt(token, "members.id_number") == "11010519491231002X"
    # Random nonce: the same value encrypts differently each time.
    assert crypto.encrypt("11010519491231002X", "members.id_number") != token
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, "other.column")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, "members.id_number", secret="another-key")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("v1:garbage!!", "members.id_number")


def test_lookup_hash_is_keyed_and_deterministic(app):
    import hashlib

    a = crypto.lookup_hash("11010519491231002X", "members.id_number")
    assert a == crypto.lookup_hash("11010519491231002X", "members.id_number")
    assert a != crypto.lookup_hash("11010519491231002X", "members.id_number", secret="k2")
    assert a != hashlib.sha256(b"11010519491231002X").hexdigest()
    assert len(a) == 64


@pytest.mark.parametrize("raw", ["11010519491231002X", "11010519491231002x",
                                 "１１０１０５１９４９１２３１００２Ｘ", " 110105 19491231 002X "])
def test_id_number_normalised_and_valid(raw):
    assert identity.clean_id_number(raw) == "11010519491231002X"


@pytest.mark.parametrize("raw", ["", "12345", "110105194912310021", "110105194913310026",
                                 "11010519491231002Y"])
def test_id_number_rejected(raw):
    with pytest.raises(Invalid):
        identity.clean_id_number(raw)


def test_id_number_birth_date_not_in_future():
    from stdnum.cn import ric

    body = "11010520991231002"
    number = body + ric.calc_check_digit(body + "0")
    with clock.freeze(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)):
        with pytest.raises(Invalid):
            identity.clean_id_number(number)


def test_masks():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert identity.name_initials("张三丰") == "zsf"
    assert identity.name_initials("曾国藩") == "zgf"


def test_slots_and_availability_bits():
    assert SLOTS == ("morning", "afternoon", "evening")
    assert slot_of(dt.time(11, 59)) == "morning"
    assert slot_of(dt.time(12, 0)) == "afternoon"
    assert slot_of(dt.time(17, 59)) == "afternoon"
    assert slot_of(dt.time(18, 0)) == "evening"
    assert slot_of(dt.datetime(2026, 1, 1, 19, 30)) == "evening"
    cells = {(0, "morning"), (6, "evening"), (3, "afternoon")}
    mask = availability_to_mask(cells)
    assert mask < 2 ** 21
    assert mask_to_availability(mask) == cells
    assert availability_to_mask({(d, s) for d in range(7) for s in SLOTS}) == 2 ** 21 - 1


def test_migration_matches_models_for_members_tables(app, db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, db.metadata)

    def table_of(diff):
        if isinstance(diff, list):  # modify_* ops: [(op, schema, table, column, ...)]
            return diff[0][2]
        op, obj = diff[0], diff[1]
        if op in ("add_column", "remove_column"):
            return diff[2]
        if op.endswith("_table"):
            return obj.name
        if op.endswith("_fk"):
            return obj.parent.name
        return obj.table.name  # indexes and constraints

    mine = [d for d in diffs if table_of(d) in MY_TABLES]
    assert not mine, mine
