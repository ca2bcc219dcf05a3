"""Personal identifiers of members: ID card numbers (validated, encrypted, looked up by keyed
hash) and the search keys derived from name and phone."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from timebank.core import clock, crypto
from timebank.core.errors import Invalid
from timebank.core.validators import normalize_digits
from timebank.members.models import ID_NUMBER_CONTEXT

#: Surnames whose reading differs from the character's most common one (pypinyin reads words,
#: not names): 曾 is Zeng, not Ceng, as a surname.
_SURNAME_INITIALS = {"曾": "z", "单": "s", "解": "x", "仇": "q", "查": "z", "区": "o", "乐": "y",
                     "覃": "q", "翟": "z", "秘": "b", "召": "s", "繁": "p", "种": "c", "长": "c",
                     "朴": "p", "盖": "g", "员": "y", "缪": "m"}
_HAN = re.compile(r"[\u3400-\u9fff]")


def normalize_id_number(value: str | None) -> str:
    """Full-width digits and ``ｘ`` to half-width, spaces removed, check letter upper case."""
    return normalize_digits(value).upper()


def clean_id_number(value: str | None, field: str = "id_number") -> str:
    """The normalised number, or :class:`Invalid` saying what is wrong with it."""
    number = normalize_id_number(value)
    if not number:
        raise Invalid(_l("The ID card number is required."), field=field)
    if len(number) != 18:
        raise Invalid(_l("An ID card number has 18 characters."), field=field)
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise Invalid(_l("An ID card number is 17 digits followed by a digit or X."), field=field)
    if number[-1] != ric.calc_check_digit(number):
        raise Invalid(_l("The ID card number's check digit is wrong; check for a typing error."),
                      field=field)
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        raise Invalid(_l("The birth date in the ID card number is not a real date."),
                      field=field) from None
    if birth > clock.today() or birth.year < 1900:
        raise Invalid(_l("The birth date in the ID card number is not plausible."), field=field)
    try:
        ric.get_birth_place(number)  # the checks above are ric.validate's other steps
    except ValidationError:
        raise Invalid(_l("The region code in the ID card number does not exist."),
                      field=field) from None
    return number


def id_number_hmac(number: str) -> str:
    return crypto.lookup_hash(number, ID_NUMBER_CONTEXT)


def encrypt_id_number(number: str) -> str:
    return crypto.encrypt(number, ID_NUMBER_CONTEXT)


def name_initials(name: str) -> str:
    """Lower-case pinyin initials: "张三丰" -> "zsf"; Latin words give their first letter."""
    # pypinyin's dictionaries cost ~55 MB and half a second: loaded on first use, not at start.
    from pypinyin import Style, lazy_pinyin

    name = (name or "").strip()
    out = []
    for i, part in enumerate(lazy_pinyin(name, style=Style.FIRST_LETTER)):
        if i == 0 and name[:1] in _SURNAME_INITIALS:
            out.append(_SURNAME_INITIALS[name[0]])
            continue
        if len(part) == 1 and part.isalpha():
            out.append(part.lower())
        else:  # a non-Han run, e.g. "Tom Li": first letter of each word
            out.extend(w[0].lower() for w in re.split(r"[^A-Za-z0-9]+", part) if w)
    return "".join(out)[:50]


def phone_tail(phone: str) -> str:
    return (phone or "")[-4:]


def looks_like_initials(query: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{1,20}", query))


def has_han(query: str) -> bool:
    return bool(_HAN.search(query))
