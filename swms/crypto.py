"""Keys for personal data at rest (P2): Fernet encryption of ID and mobile numbers, and a keyed hash
(HMAC-SHA256, a "blind index") for exact lookup, uniqueness and correlating log entries.

Keys come from the environment, never from SECRET_KEY (rotating one must not cost the other):
- ``SWMS_FIELD_KEYS``: comma-separated Fernet keys; the first encrypts, all decrypt (MultiFernet), so a
  new key is prepended, ``manage.py rotate_field_keys`` re-encrypts, and the old key is then dropped.
- ``SWMS_HASH_KEY``: the HMAC key of the blind index (``SWMS_HASH_KEY_PREVIOUS`` while rotating it).
The development defaults are derived from fixed strings and refused by the production settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

DEV_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"swms-development-field-key").digest()).decode()
DEV_HASH_KEY = "swms-development-hash-key-not-for-production"


class DecryptionError(Exception):
    """A stored value that none of the configured keys opens (a missing key after a bad rotation)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def field_keys() -> tuple[str, ...]:
    return tuple(settings.SWMS_FIELD_KEYS)


def fernet() -> MultiFernet:
    return _fernet(field_keys())


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("no configured key opens this value") from exc


def rotate(token: str) -> str:
    """The same plaintext under the first (current) key."""
    return fernet().rotate(token.encode()).decode()


def keyed_hash(value: str, key: str | None = None) -> str:
    """HMAC-SHA256 hex of a normalized value under SWMS_HASH_KEY (or `key`, while rotating it)."""
    key = settings.SWMS_HASH_KEY if key is None else key
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
