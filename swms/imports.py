"""The kinds of data that can be imported (issue #15): one registry for `manage.py` and the import centre.

Each importer module declares an `ImportKind` with `register()`: its columns (template labels, synonyms,
help and an example), and the function that reads a file and writes what is valid:

    run(*, path, dry_run=False, progress=None, scope=None, **options) -> ImportReport

`scope` is the importing office's region (a province official in the import centre); rows for regions
outside its subtree are refused row by row. None is the whole country (operators on the command line).
The same function serves the dry run (nothing written), the real run and a re-run (natural keys: nothing
new the second time). `write_template()` gives every kind its downloadable template.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .import_values import Column

# The modules that declare import kinds, in the order the import centre lists them.
IMPORTER_MODULES = [
    "registration.roster_import",
    "registration.ce_import",
    "registration.legacy_import",
    "registration.org_import",
    "stations.imports",
    "services.client_import",
]


@dataclass(frozen=True)
class ImportKind:
    key: str  # used in URLs and `manage.py import_template KEY`
    label: str  # a lazy translation
    columns: Sequence[Column]
    run: Callable  # see the module docstring
    description: str = ""  # what the file holds and what the import does with it (lazy translation)
    natural_key: str = ""  # what makes a row the same row again on a re-run (lazy translation)
    command: str = ""  # the manage.py command that imports this kind


_KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    _KINDS[kind.key] = kind
    return kind


def kinds() -> list[ImportKind]:
    """Every registered kind, in IMPORTER_MODULES order."""
    for module in IMPORTER_MODULES:
        importlib.import_module(module)
    order = {module: i for i, module in enumerate(IMPORTER_MODULES)}
    return sorted(_KINDS.values(), key=lambda k: order.get(k.run.__module__, len(order)))


def get_kind(key: str) -> ImportKind:
    """The kind named `key`; KeyError if there is none."""
    for kind in kinds():
        if kind.key == key:
            return kind
    raise KeyError(key)


HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")


def write_template(kind: ImportKind, handle) -> None:
    """The kind's template: a sheet with the header row (required columns marked *) and an example row, its
    text columns formatted as text so that ID numbers keep their digits, and a sheet explaining every column
    (required or not, what else the column may be called, how to write it)."""
    wb = Workbook()
    ws = wb.active
    ws.title = str(kind.label)[:31]
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        head = ws.cell(row=1, column=index, value=column.labels[0] + ("*" if column.required else ""))
        head.fill = HEADER_FILL
        if column.required:
            head.font = REQUIRED_FONT
        example = ws.cell(row=2, column=index, value=column.example if column.example != "" else None)
        if column.as_text:
            example.number_format = "@"
            for row in range(3, 1003):  # the rows people fill in: text, so an ID number is not made a number
                ws.cell(row=row, column=index).number_format = "@"
        ws.column_dimensions[letter].width = max(12, 2 * len(column.labels[0]) + 4)
    ws.freeze_panes = "A2"

    notes = wb.create_sheet(_("How to fill in"))
    notes.append([_("Column"), _("Required"), _("Also accepted as the column name"), _("How to fill it in")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for column in kind.columns:
        notes.append([column.labels[0], _("yes") if column.required else _("no"), "、".join(column.labels[1:]),
                      str(column.help)])
    notes.append([])
    for line in (
        kind.description,
        _("Row 2 is an example: replace it with your data. Title or note rows above the header are allowed, "
          "the columns may be in any order and extra columns are ignored."),
        _("Dates may be written as 2021-05-01, 2021/5/1, 2021.5.1 or 2021年5月1日. Keep ID numbers in text "
          "cells: a number cell loses their last digits."),
        _("Importing the same file again does not create anything twice: %(key)s.") % {"key": kind.natural_key}
        if kind.natural_key else "",
    ):
        if line:
            notes.append([str(line)])
    for letter, width in zip("ABCD", (16, 8, 30, 80), strict=True):
        notes.column_dimensions[letter].width = width
    wb.save(handle)


def template_filename(kind: ImportKind) -> str:
    return _("%(kind)s import template.xlsx") % {"kind": kind.label}


# The labels of the kinds' shared columns, so every template calls them the same.
ID_NUMBER_LABELS = ("身份证号", "身份证号码", "公民身份号码", "身份证件号码", "证件号码")
ID_NUMBER_EXAMPLE = "440104199001011232"  # a valid number (check digit right) for the templates' example rows
ID_NUMBER_HELP = gettext_lazy("The 18-digit resident ID number (a 15-digit old number is converted). Keep the "
                              "column as text.")


class RegionLookup:
    """A region cell → the Region: its 12-digit code, the code's short form (6 digits for a county, 9 for a
    town), or its name, alone when it is unique or with its parents' names before it (广州市天河区,
    广东省广州市天河区). Regions outside `scope` are refused (None: the whole country). Each distinct value is
    looked up once for the file: by a query or two while the values are few, then — from the
    PRELOAD_AFTER-th distinct value on — in the scope's regions, read once into memory (a province's towns and
    villages: one query instead of thousands); only a value not found there is asked of the database, to say
    whether it is unknown or outside the scope."""

    PRELOAD_AFTER = 20

    def __init__(self, scope=None):
        self.scope = scope
        self._seen: dict[str, object] = {}
        self._by_pk: dict | None = None  # the preloaded regions: pk → Region (scope's subtree and ancestors)
        self._by_code: dict = {}
        self._by_name: dict = {}

    def __call__(self, value):
        from .import_values import ImportValueError, clean

        raw = clean(value).replace(" ", "")
        if not raw:
            raise ImportValueError(_("the region is empty"))
        if raw not in self._seen:
            if self._by_pk is None and len(self._seen) >= self.PRELOAD_AFTER:
                self._preload()
            try:
                self._seen[raw] = self._find(raw)
            except ImportValueError as e:
                self._seen[raw] = e
        found = self._seen[raw]
        if isinstance(found, ImportValueError):
            raise found
        return found

    def _preload(self) -> None:
        from accounts.models import Region

        fields = ("id", "code", "name", "level", "parent_id", "tree_id", "lft", "rght", "depth")
        regions = Region.objects.only(*fields)
        if self.scope is not None:
            ancestors = list(self.scope.get_ancestors().only(*fields))
            regions = [*ancestors, *regions.within(self.scope)]
        self._by_pk = {}
        for region in regions:
            self._by_pk[region.pk] = region
            self._by_code[region.code] = region
            self._by_name.setdefault(region.name, []).append(region)

    def _ancestors(self, region) -> list:
        """The region's ancestors, nearest first."""
        if self._by_pk is None:
            return list(reversed(region.get_ancestors()))
        found, parent = [], self._by_pk.get(region.parent_id)
        while parent is not None:
            found.append(parent)
            parent = self._by_pk.get(parent.parent_id)
        return found

    def _find(self, raw: str):
        from accounts.models import Region

        from .import_values import ImportValueError

        if raw.isdigit():
            code = raw.ljust(12, "0") if len(raw) in (2, 4, 6, 9) else raw
            region = self._by_code.get(code) or Region.objects.filter(code=code).first()
            if region is None:
                raise ImportValueError(_("no region has the code %(code)s") % {"code": raw})
        else:
            names = [raw[i:] for i in range(len(raw) - 1)]
            if self._by_pk is not None:
                candidates = [r for name in names for r in self._by_name.get(name, ()) if self._names_match(r, raw)]
            else:
                candidates = []
            if not candidates:  # not among the preloaded: perhaps outside the scope, or unknown
                self_by_pk, self._by_pk = self._by_pk, None
                try:
                    candidates = [r for r in Region.objects.filter(name__in=names) if self._names_match(r, raw)]
                finally:
                    self._by_pk = self_by_pk
            if not candidates:
                raise ImportValueError(_("no region is called %(name)s") % {"name": raw})
            if len(candidates) > 1:
                inside = [r for r in candidates if self._inside(r)]
                if len(inside) != 1:
                    raise ImportValueError(
                        _("several regions are called %(name)s; write the names of the regions above it too "
                          "(e.g. 广州市天河区) or its division code") % {"name": raw})
                candidates = inside
            region = candidates[0]
        if not self._inside(region):
            raise ImportValueError(_("%(region)s is outside the regions you administer") % {"region": region.name})
        return region

    def _names_match(self, region, raw: str) -> bool:
        """`raw` is the region's name, or its name after those of some of its ancestors in order."""
        if raw == region.name:
            return True
        rest = raw.removesuffix(region.name)
        for ancestor in self._ancestors(region):
            if rest == "":
                break
            if rest.endswith(ancestor.name):
                rest = rest.removesuffix(ancestor.name)
        return rest == ""

    def _inside(self, region) -> bool:
        scope = self.scope
        return scope is None or (region.tree_id == scope.tree_id and scope.lft <= region.lft
                                 and region.rght <= scope.rght)
