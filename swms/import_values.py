"""What government spreadsheets really contain, made into clean values (issue #15, the shared reader).

The pieces every import uses before its own checks: the header row found by its labels among title and
note rows, labels compared after removing spaces, line breaks and full-width forms (with synonyms), and
cell values as people type them — years as 2021年, dates in six spellings or as Excel serial numbers,
full-width digits, NBSP, ID numbers in lower case, in the 15-digit legacy form (converted, GB 11643) or
stored as a number that lost its last digits (said so, never a made-up checksum error).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric

from .ids import validate_ric

HEADER_SCAN_ROWS = 20
EXCEL_EPOCH = datetime.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included)
_SPACES = re.compile(r"\s+")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


class ImportValueError(ValueError):
    """A cell that cannot be read as what its column holds; the message says why, for the report."""


def clean(value) -> str:
    """A cell as text: full-width forms made ASCII (NFKC), NBSP and ideographic spaces as spaces, runs of
    white space as one, trimmed; 2021.0 from a numeric cell is "2021"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()


def header_key(label) -> str:
    """A header label as compared: no spaces or line breaks, full-width forms folded, no required-mark (*)."""
    return _SPACES.sub("", clean(label)).strip("*＊")


@dataclass(frozen=True)
class Column:
    key: str
    labels: tuple[str, ...]  # the label of the template first, then synonyms
    required: bool = True
    help: str = ""  # what the column holds and how to write it, for the template's explanation sheet
    example: object = ""  # the template's example row
    as_text: bool = False  # the template formats the column as text (ID numbers, codes: no lost digits)


def find_header(rows: list[list], columns: list[Column], scan: int = HEADER_SCAN_ROWS) -> tuple[int, dict[str, int]]:
    """(index of the header row, {key: column index}): the first of the first `scan` rows that has every
    required column's label (or a synonym). Title, unit and note rows above it are skipped; columns may be
    in any order and extra columns are ignored. Raises ImportValueError naming what is missing."""
    wanted = {header_key(label): c.key for c in columns for label in c.labels}
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:scan]):
        found: dict[str, int] = {}
        for position, cell in enumerate(row):
            key = wanted.get(header_key(cell))
            if key is not None and key not in found:
                found[key] = position
        if all(c.key in found for c in columns if c.required):
            return index, found
        if found and (best is None or len(found) > len(best[1])):
            best = (index, found)
    missing = [c.labels[0] for c in columns if c.required and (best is None or c.key not in best[1])]
    raise ImportValueError(
        _("No header row with the columns %(missing)s in the first %(scan)d rows. Put the template's header "
          "row above the data (title rows above it are fine) and run the import again.")
        % {"missing": "、".join(missing), "scan": scan}
    )


def parse_year(value) -> int:
    """2021, 2021.0, "2021", "2021年", "２０２１年"."""
    raw = clean(value).removesuffix("年").strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    if re.fullmatch(r"\d{4}(\.0+)?", raw):
        return int(float(raw))
    raise ImportValueError(_("“%(value)s” is not a year (write it as 2021 or 2021年).") % {"value": clean(value)})


def parse_date(value) -> datetime.date:
    """A date cell, an Excel serial number, or text as 2021-05-01, 2021/5/1, 2021.5.1, 2021年5月1日 or 20210501."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 19000101 <= value <= 21001231 and float(value).is_integer():  # 20210501 typed as a number
            value = str(int(value))
        elif 1 <= value < 2958466:  # an Excel serial number (the cell lost its date format)
            return EXCEL_EPOCH + datetime.timedelta(days=int(value))
    raw = clean(value)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            try:
                return datetime.date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise ImportValueError(_("“%(value)s” is not a date (write it as 2021-05-01 or 2021年5月1日).")
                           % {"value": raw})


@dataclass(frozen=True)
class IdNumber:
    value: str  # 18 characters, upper-case X
    converted_from: str = ""  # the 15-digit legacy number it was converted from


def parse_id_number(value) -> IdNumber:
    """A resident ID number (GB 11643). A number cell holds at most 15 significant digits, so an 18-digit
    number typed into one has lost its last digits: that is what the message says, not a checksum error on
    digits Excel made up. A 15-digit legacy number is converted to 18 digits (19 + the century, and the
    check digit), and the conversion is kept for the report."""
    if isinstance(value, float) and not value.is_integer():
        raise ImportValueError(_("This is not an ID number: %(value)s.") % {"value": clean(value)})
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    raw = clean(value).replace(" ", "").upper()
    if not numeric and re.fullmatch(r"\d(\.\d+)?E\+?\d+", raw):
        numeric = True  # "4.40104E+17": a number shown in scientific notation, pasted as text
    if numeric and not re.fullmatch(r"\d{15}", raw):
        raise ImportValueError(_("The ID number was stored as a number and its last digits are lost: format the "
                                 "column as text and fill it in again."))
    if re.fullmatch(r"\d{15}", raw):
        body = raw[:6] + "19" + raw[6:]
        converted = body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18 characters
        return IdNumber(_validated(converted, raw), converted_from=raw)
    return IdNumber(_validated(raw, raw))


def _validated(number: str, written: str) -> str:
    """The one ID check of the project (swms.ids: length, characters, birth date, check digit; not the
    address code, which stdnum checks against the birth date though it is the residence at first issue)."""
    try:
        return validate_ric(number)
    except ValidationError as e:
        raise ImportValueError(_("%(value)s: %(error)s") % {"value": written or "—", "error": " ".join(e.messages)}) \
            from None
