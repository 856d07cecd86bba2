"""Masking of personal information in lists, exports and logs (GB/T 35273 §7.2, PIPL art. 51)."""

import re


def mask_id_number(value: str | None) -> str:
    """110101********123X: keep the address code and the last four characters."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张*, 欧阳** : keep the first character."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else value


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
ID_LIKE = re.compile(r"\d{17}[\dX]|\d{15}")
MOBILE_LIKE = re.compile(r"1\d{10}")


def log_identifier(value: str | None) -> tuple[str, str]:
    """What a log may keep of an identifier someone typed or an account's username (P1, L4): the value
    itself, or, for an ID or mobile number, its masked form; and a keyed hash of the normalized value,
    so that attempts on one identifier can be correlated without storing it. ('', '') for nothing."""
    from .crypto import keyed_hash
    from .ids import normalize_ric

    value = "".join(ch for ch in (value or "").strip() if ch.isprintable())
    if not value:
        return "", ""
    ric = normalize_ric(value)
    if ID_LIKE.fullmatch(ric):
        return mask_id_number(ric), keyed_hash(ric)
    phone = value.translate(_FULLWIDTH_DIGITS)
    if MOBILE_LIKE.fullmatch(phone):
        return mask_phone(phone), keyed_hash(phone)
    return value, keyed_hash(value.casefold())
