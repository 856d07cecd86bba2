"""Import administrative divisions (行政区划) from a CSV file into the `Region` tree.

The file (see data/regions/README.md) has the header `code,name,level,parent_code`, one region a
row, 12-digit codes, an empty parent code for roots. Rows may come in any order.

The import is all or nothing: the whole file is read and validated first, and with any error
nothing is written (`RegionImportError` carries every error with its file line number).

It is fast because it never goes through mptt's per-node tree maintenance: the file rows are
merged with the regions already in the database (which keep their primary keys, so foreign keys
such as `User.region` stay valid), the whole forest is built in memory (siblings and roots ordered
by code, as `MPTTMeta.order_insertion_by = ["code"]` would order them), the nested-set numbers
(lft, rght, tree_id, depth) are computed by one depth-first walk, and then only the new rows are
inserted and only the changed rows are updated, in bulk, in one transaction. The numbers are the
ones `Region.objects.rebuild()` would compute, so the tree is a valid mptt tree afterwards.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections, router, transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from .models import LEVEL_RANK, Region, RegionLevel

HEADER = ("code", "name", "level", "parent_code")
# Sent inside the import's transaction when it gave existing regions another parent: what is stored per
# region path elsewhere (an activity's province) follows (services.apps connects its receiver).
regions_moved = Signal()
CODE_RE = re.compile(r"[0-9]{12}")
NAME_MAX_LENGTH = Region._meta.get_field("name").max_length
TREE_FIELDS = ("lft", "rght", "tree_id", "depth")
DATA_FIELDS = ("name", "level", "parent_id")
UPDATE_COLUMNS = ("pk", *DATA_FIELDS, *TREE_FIELDS)
INSERT_BATCH = 2000
UPDATE_BATCH = 1000


@dataclass
class ImportResult:
    created: int = 0
    # File rows already in the database whose name, level or parent changed.
    updated: int = 0
    # File rows already in the database with the same name, level and parent.
    unchanged: int = 0
    # Regions in the database that are not in the file: left alone (kept, not in file).
    kept: int = 0
    # Existing rows (file or kept) whose only change is their place in the nested set
    # (lft/rght/tree_id/depth), e.g. when a new province shifts the tree ids after it.
    renumbered: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


class RegionImportError(Exception):
    """The file has errors; nothing was written. `errors` is a list of (line number, message);
    line 0 means the file as a whole."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = sorted(errors, key=lambda e: e[0])
        super().__init__("; ".join(format_error(line, msg) for line, msg in self.errors[:10]))


def format_error(line: int, message: str) -> str:
    if line <= 0:
        return message
    return _("line %(line)d: %(message)s") % {"line": line, "message": message}


@dataclass(slots=True)
class _Row:
    line: int
    code: str
    name: str
    level: str
    parent_code: str | None


def _say(stdout, message: str) -> None:
    if stdout is not None:
        # Django's OutputWrapper adds the newline only when missing; plain streams need it.
        stdout.write(message + "\n")


def _read(path) -> tuple[list[_Row], list[tuple[int, str]]]:
    """Parse and check the file on its own (format, codes, levels, names, duplicates)."""
    errors: list[tuple[int, str]] = []
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return [], [(line, _(
            "the file is not UTF-8 text: open it in Excel or WPS and save it as \"CSV UTF-8\", or in a text "
            "editor with the UTF-8 encoding, then run the import again"
        ))]

    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return [], [(1, _("the file is empty"))]
    columns = [h.strip().lower() for h in header]
    missing = [h for h in HEADER if h not in columns]
    if missing:
        return [], [
            (
                1,
                _("the header must be %(expected)s; missing: %(missing)s")
                % {"expected": ",".join(HEADER), "missing": ", ".join(missing)},
            )
        ]
    i_code, i_name, i_level, i_parent = (columns.index(h) for h in HEADER)
    width = len(columns)
    levels = set(RegionLevel.values)

    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    line = 1
    for record in reader:
        line = reader.line_num
        if not record or all(not v.strip() for v in record):
            continue
        if len(record) != width:
            errors.append(
                (
                    line,
                    _("expected %(expected)d columns, found %(found)d")
                    % {"expected": width, "found": len(record)},
                )
            )
            continue
        code = record[i_code].strip()
        name = record[i_name].strip()
        level = record[i_level].strip()
        parent_code = record[i_parent].strip() or None
        ok = True
        if not CODE_RE.fullmatch(code):
            errors.append((line, _("invalid code %(code)r: a code has 12 digits") % {"code": code}))
            ok = False
        if not name:
            errors.append((line, _("the name is empty")))
            ok = False
        elif len(name) > NAME_MAX_LENGTH:
            errors.append((line, _("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH}))
            ok = False
        if level not in levels:
            errors.append(
                (
                    line,
                    _("unknown level %(level)r (expected one of %(levels)s)")
                    % {"level": level, "levels": ", ".join(RegionLevel.values)},
                )
            )
            ok = False
        if parent_code is not None and not CODE_RE.fullmatch(parent_code):
            errors.append(
                (line, _("invalid parent code %(code)r: a code has 12 digits") % {"code": parent_code})
            )
            ok = False
        if CODE_RE.fullmatch(code):
            if code in first_line:
                errors.append(
                    (
                        line,
                        _("duplicate code %(code)s (first on line %(first)d)")
                        % {"code": code, "first": first_line[code]},
                    )
                )
                ok = False
            else:
                first_line[code] = line
        if ok:
            rows.append(_Row(line, code, name, level, parent_code))
    if not rows and not errors:
        errors.append((line, _("the file has no regions")))
    return rows, errors


def _find_cycles(parent_of: dict[str, str | None]) -> list[list[str]]:
    """Every cycle of the parent links, as the list of codes on it."""
    done: set[str] = set()
    cycles = []
    for start in parent_of:
        if start in done:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        if node is not None and node in on_path:
            cycles.append(path[on_path[node] :])
        done.update(path)
    return cycles


def _province_subtree(rows: list[_Row], province: str) -> list[_Row] | None:
    """The rows of that province (name or code of a province row), its subtree and its ancestors
    in the file (a country root), so that the province still hangs where the file says."""
    by_code = {r.code: r for r in rows}
    match = next((r for r in rows if r.level == RegionLevel.PROVINCE and province in (r.name, r.code)), None)
    if match is None:
        return None
    children: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.parent_code is not None:
            children[r.parent_code].append(r.code)
    keep = {match.code}
    stack = [match.code]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in keep:
                keep.add(child)
                stack.append(child)
    up = match.parent_code
    while up is not None and up in by_code and up not in keep:
        keep.add(up)
        up = by_code[up].parent_code
    return [r for r in rows if r.code in keep]


def _number_forest(parent_of: dict[str, str | None]) -> dict[str, tuple[int, int, int, int]]:
    """Nested-set numbers {code: (lft, rght, tree_id, depth)} as mptt's rebuild() gives them with
    order_insertion_by = ["code"]: one tree per root, roots and siblings ordered by code."""
    children: dict[str, list[str]] = defaultdict(list)
    roots = []
    for code, parent in parent_of.items():
        if parent is None:
            roots.append(code)
        else:
            children[parent].append(code)
    roots.sort()
    for kids in children.values():
        kids.sort()

    numbers: dict[str, tuple[int, int, int, int]] = {}
    lft: dict[str, int] = {}
    for tree_id, root in enumerate(roots, 1):
        n = 1
        lft[root] = 1
        stack = [(root, iter(children.get(root, ())))]
        while stack:
            node, kids = stack[-1]
            child = next(kids, None)
            n += 1
            if child is None:
                stack.pop()
                numbers[node] = (lft[node], n, tree_id, len(stack))
            else:
                lft[child] = n
                stack.append((child, iter(children.get(child, ()))))
    return numbers


def _lock(using: str) -> None:
    """Keep other writers (mptt saves renumber the tree) out until the import commits."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Region._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def _can_update_from_values(connection) -> bool:
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)
    )


def _update_rows(using: str, rows: list[tuple]) -> None:
    """Write (pk, name, level, parent_id, lft, rght, tree_id, depth) rows.

    Django's bulk_update() builds one CASE WHEN per column whose cost grows with the square of the
    batch (renumbering the 41,909 national rows takes ~45 s); one UPDATE ... FROM (VALUES ...) per
    batch is linear (~2 s). PostgreSQL and SQLite >= 3.33 have it; other databases use bulk_update().
    """
    if not rows:
        return
    connection = connections[using]
    fields = [Region._meta.pk if name == "pk" else Region._meta.get_field(name) for name in UPDATE_COLUMNS]
    columns = [f.column for f in fields]
    if not _can_update_from_values(connection):
        objs = [Region(**dict(zip(UPDATE_COLUMNS, row, strict=True))) for row in rows]
        Region._base_manager.db_manager(using).bulk_update(
            objs, [*DATA_FIELDS, *TREE_FIELDS], batch_size=UPDATE_BATCH
        )
        return
    qn = connection.ops.quote_name
    table = qn(Region._meta.db_table)
    if connection.vendor == "postgresql":
        # Typed placeholders, so that a batch whose parents are all NULL is not read as text.
        placeholder = "(" + ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields) + ")"
    else:
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    names = ", ".join(qn(c) for c in columns)
    assignments = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns[1:])
    pk = qn(columns[0])
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPDATE_BATCH):
            batch = rows[start : start + UPDATE_BATCH]
            values = ", ".join([placeholder] * len(batch))
            # Only quoted identifiers and placeholders are formatted in; the values are bound.
            sql = f"WITH v ({names}) AS (VALUES {values}) UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.{pk}"  # noqa: S608
            cursor.execute(sql, [value for row in batch for value in row])


def regions_import(*, path, province: str | None = None, stdout=None) -> ImportResult:
    """Import the regions of a CSV file; see the module docstring. Raises `RegionImportError`."""
    started = time.monotonic()
    rows, errors = _read(path)
    _say(stdout, _("Read %(count)d valid rows from %(path)s.") % {"count": len(rows), "path": path})

    using = router.db_for_write(Region)
    manager = Region._base_manager.db_manager(using)
    result = ImportResult()
    with transaction.atomic(using=using):
        _lock(using)
        existing = {
            code: (pk, name, level, parent_id, lft, rght, tree_id, depth)
            for pk, code, name, level, parent_id, lft, rght, tree_id, depth in manager.values_list(
                "pk", "code", "name", "level", "parent_id", *TREE_FIELDS
            )
        }
        code_of_pk = {v[0]: code for code, v in existing.items()}

        # Parents and cycles are checked on the whole file merged with the database.
        in_file = {r.code for r in rows}
        for r in rows:
            if r.parent_code is not None and r.parent_code not in in_file and r.parent_code not in existing:
                errors.append(
                    (
                        r.line,
                        _("unknown parent code %(parent)s: neither in the file nor in the database")
                        % {"parent": r.parent_code},
                    )
                )
        db_parent_of: dict[str, str | None] = {
            code: (code_of_pk[v[3]] if v[3] is not None else None) for code, v in existing.items()
        }
        parent_of = {**db_parent_of, **{r.code: r.parent_code for r in rows}}
        line_of = {r.code: r.line for r in rows}
        for cycle in _find_cycles(parent_of):
            shown = " → ".join([*cycle, cycle[0]])
            for code in cycle:
                if code in line_of:
                    errors.append(
                        (line_of[code], _("the parent codes form a cycle: %(cycle)s") % {"cycle": shown})
                    )

        # A child must rank below its parent (a town under a county, never a province under a
        # town): scoping and "lower levels" rely on that order.
        level_of = {**{code: v[2] for code, v in existing.items()}, **{r.code: r.level for r in rows}}
        lines_in_error = {line for line, _msg in errors}
        for r in rows:
            if r.line in lines_in_error:
                continue
            parent_level = level_of.get(r.parent_code) if r.parent_code else None
            if parent_level and LEVEL_RANK[r.level] <= LEVEL_RANK[parent_level]:
                errors.append(
                    (
                        r.line,
                        _("a %(level)s cannot be placed under a %(parent_level)s (%(parent)s)")
                        % {
                            "level": RegionLevel(r.level).label,
                            "parent_level": RegionLevel(parent_level).label,
                            "parent": r.parent_code,
                        },
                    )
                )
        if province and not errors:
            selected = _province_subtree(rows, province)
            if selected is None:
                errors.append((0, _("no province named %(province)s in the file") % {"province": province}))
            else:
                rows = selected
        if errors:
            raise RegionImportError(errors)
        _say(stdout, _("Validated %(count)d regions.") % {"count": len(rows)})

        # The merged forest: database rows, overridden by the file rows.
        parent_of = {**db_parent_of, **{r.code: r.parent_code for r in rows}}
        numbers = _number_forest(parent_of)
        if len(numbers) != len(parent_of):  # cannot happen: cycles were rejected above
            raise RuntimeError("regions unreachable from any root")

        # New rows, shallowest first, so that each parent has its primary key before its children.
        pk_of = {code: v[0] for code, v in existing.items()}
        new_by_depth: dict[int, list[_Row]] = defaultdict(list)
        for r in rows:
            if r.code not in existing:
                new_by_depth[numbers[r.code][3]].append(r)
        for depth in sorted(new_by_depth):
            objs = []
            for r in new_by_depth[depth]:
                lft, rght, tree_id, _depth = numbers[r.code]
                objs.append(
                    Region(
                        code=r.code,
                        name=r.name,
                        level=r.level,
                        parent_id=pk_of[r.parent_code] if r.parent_code is not None else None,
                        lft=lft,
                        rght=rght,
                        tree_id=tree_id,
                        depth=depth,
                    )
                )
            manager.bulk_create(objs, batch_size=INSERT_BATCH)
            for obj in objs:
                pk_of[obj.code] = obj.pk
            result.created += len(objs)
        _say(stdout, _("Inserted %(count)d new regions.") % {"count": result.created})

        # Existing rows: name, level and parent from the file (if there), new numbers for all;
        # only the rows where something differs are written.
        file_rows = {r.code: r for r in rows}
        changed: list[tuple] = []
        moved = False
        for code, (pk, name, level, parent_id, *old_numbers) in existing.items():
            r = file_rows.get(code)
            if r is None:
                data = (name, level, parent_id)
            else:
                data = (r.name, r.level, pk_of[r.parent_code] if r.parent_code is not None else None)
            data_changed = data != (name, level, parent_id)
            moved = moved or data[2] != parent_id
            new_numbers = numbers[code]
            numbers_changed = tuple(old_numbers) != new_numbers
            if r is None:
                result.kept += 1
            elif data_changed:
                result.updated += 1
            else:
                result.unchanged += 1
            if numbers_changed and not data_changed:
                result.renumbered += 1
            if data_changed or numbers_changed:
                changed.append((pk, *data, *new_numbers))
        _update_rows(using, changed)
        if moved:
            regions_moved.send(sender=Region, using=using)
        _say(
            stdout,
            _(
                "Updated %(updated)d regions, renumbered %(renumbered)d, %(unchanged)d unchanged, %(kept)d kept (not in file)."
            )
            % {
                "updated": result.updated,
                "renumbered": result.renumbered,
                "unchanged": result.unchanged,
                "kept": result.kept,
            },
        )
    result.seconds = time.monotonic() - started
    return result
