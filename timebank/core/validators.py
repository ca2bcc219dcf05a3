"""Normalisation and validation of Chinese phone numbers (and other identifiers)."""
from __future__ import annotations

import re
import unicodedata

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_digits(value: str | None) -> str:
    """Full-width digits and letters to half-width, spaces and dashes removed."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFKC", value)
    return re.sub(r"[\s\-\u00a0\u3000]", "", value)


def normalize_phone(value: str | None) -> str:
    value = normalize_digits(value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


def is_cn_mobile(value: str) -> bool:
    return bool(_MOBILE.match(value))


def mask_phone(value: str) -> str:
    """``13812348000`` -> ``138****8000``."""
    if len(value) != 11:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"


def clean_text(value: str | None) -> str:
    """A person's or a place's name as it is stored: NFKC-normalised (full-width letters and
    digits become half-width, compatibility forms fold), Unicode format characters removed
    (zero-width spaces and joiners, bidi overrides such as U+202E that make a name read
    backwards, soft hyphens), and runs of white space collapsed to one space.

    Two names that look the same then compare equal, and no name can hide or reorder text in a
    page, a spreadsheet or a PDF."""
    value = unicodedata.normalize("NFKC", value or "")
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    return " ".join(value.split())
