"""Field encryption and keyed lookup hashes for personal identifiers (ID card numbers).

Both keys are derived from ``TIMEBANK_DATA_KEY`` with HKDF under different labels, so one
configured secret serves both purposes without the encryption key ever doubling as the MAC key.

* :func:`encrypt` / :func:`decrypt`: AES-256-GCM with a random 96-bit nonce per value. The
  ``context`` (e.g. ``"members.id_number"``) is bound as associated data, so a ciphertext copied
  into another column does not decrypt there.
* :func:`lookup_hash`: HMAC-SHA256 of the normalised value. A bare SHA-256 of an ID number could
  be reversed by enumerating the ~10^11 plausible numbers; without the key it cannot.

Tokens carry a version prefix (``v1:``) so the scheme can change without guessing what old rows
hold.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_VERSION = "v1"
_NONCE_BYTES = 12


class DecryptionError(ValueError):
    """The token is malformed, was made with another key, or belongs to another context."""


@functools.lru_cache(maxsize=8)
def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"timebank-data-key",
                info=label).derive(secret.encode())


def _secret(secret: str | None) -> str:
    return secret if secret is not None else current_app.config["TIMEBANK_DATA_KEY"]


def encrypt(plaintext: str, context: str, secret: str | None = None) -> str:
    """``v1:<base64url(nonce + ciphertext + tag)>``."""
    key = _derive(_secret(secret), b"timebank field encryption v1")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, context: str, secret: str | None = None) -> str:
    version, _, body = (token or "").partition(":")
    if version != _VERSION:
        raise DecryptionError("unknown token version")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
        key = _derive(_secret(secret), b"timebank field encryption v1")
        plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError) as e:
        raise DecryptionError("cannot decrypt") from e
    return plain.decode()


def lookup_hash(value: str, context: str, secret: str | None = None) -> str:
    """Deterministic keyed hash (hex, 64 chars) for equality lookups and unique constraints."""
    key = _derive(_secret(secret), b"timebank lookup hmac v1")
    return hmac.new(key, context.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()
