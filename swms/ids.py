"""Resident ID numbers (居民身份证号码, GB 11643).

python-stdnum's `cn.ric.validate()` also insists that the 6-digit address code existed on the
holder's birth date. That is not the rule: the code is the residence at first issue, often years
after birth, and stdnum 2.2 rejects 1,575 of today's 2,847 county codes for a 1990 birth date. So we
check length, characters, birth date and check digit with stdnum's parts, and of the address code only its
first two digits: they must be a province-level code of GB/T 2260 (I1). stdnum's own region list is not used for
that either (it refuses valid numbers, see above), nor the project's regions table (a deployment may hold one
province only).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

_ONE_DAY = datetime.timedelta(days=1)
_EARLIEST = datetime.date(1900, 1, 1)
# Province-level divisions of GB/T 2260 (the first two digits of every address code): 11-15 North, 21-23
# North-east, 31-37 East, 41-46 Central-south, 50-54 South-west, 61-65 North-west; 71 Taiwan, 81 Hong Kong and
# 82 Macao (also the residence permits of their residents, GB 11643 as amended 2018), 83 the residence permits
# of Taiwan residents.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15",
    "21", "22", "23",
    "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46",
    "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})
_FULLWIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")


def normalize_ric(value: str) -> str:
    """Strip spaces, fold full-width digits and a lowercase x: the stored form. (stdnum's `compact` does the
    same through a per-character Unicode pass, 20× slower: it was most of a 100,000-row import.)"""
    return "".join((value or "").translate(_FULLWIDTH).split()).upper()


def validate_ric(value: str) -> str:
    """Return the normalized 18-digit number or raise ValidationError with a Chinese-ready message."""
    number = normalize_ric(value)
    if len(number) != 18:
        raise ValidationError(_("An ID number has 18 characters."), code="length")
    if not (number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."), code="chars")
    if number[:2] not in PROVINCE_CODES:
        raise ValidationError(_("The first two digits of this ID number are not a province code; check the "
                                "number."), code="province")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # as stdnum reads it
    except ValueError:
        raise ValidationError(_("The birth date in this ID number is not a real date."), code="birth") from None
    # date.today() first (a C call): the local date asked of Django's time zone (asgiref's thread-local, ~10 µs,
    # half of a large import's ID checks) only for a birth date within a day of it.
    if (birth > datetime.date.today() - _ONE_DAY and birth > timezone.localdate()) or birth < _EARLIEST:
        raise ValidationError(_("The birth date in this ID number is not possible."), code="birth")
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError(_("The check digit of this ID number is wrong."), code="checksum")
    return number


def birth_date_from_ric(number: str) -> datetime.date:
    return ric.get_birth_date(normalize_ric(number))
