"""Region import (accounts.regions_import and `manage.py import_regions`)."""

import csv
from collections import defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from accounts.models import Region, User, UserKind
from accounts.regions_import import RegionImportError, regions_import
from tests.conftest import TREE


@pytest.fixture(autouse=True)
def english_messages():
    """Assert on the English source messages (the zh-Hans catalog translates them for operators)."""
    with translation.override("en"):
        yield

DATA = Path(__file__).resolve().parent.parent / "data" / "regions"
GUANGDONG = DATA / "guangdong-2025.csv"
NATIONAL = DATA / "cn-regions-2025.csv"
HEADER = "code,name,level,parent_code"


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(tmp_path, lines, name="regions.csv"):
    """A CSV with the header as line 1 and `lines` ("code,name,level,parent") from line 2."""
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def tree_csv(tmp_path, tree=TREE, name="tree.csv"):
    return write_csv(tmp_path, [f"{c},{n},{lv},{p or ''}" for c, n, lv, p in tree], name)


def snapshot():
    """{code: (pk, name, level, parent code, lft, rght, tree_id, depth)} of every region."""
    code_of = dict(Region._base_manager.values_list("pk", "code"))
    return {
        code: (pk, name, level, code_of.get(parent_id), lft, rght, tree_id, depth)
        for pk, code, name, level, parent_id, lft, rght, tree_id, depth in Region._base_manager.values_list(
            "pk", "code", "name", "level", "parent_id", "lft", "rght", "tree_id", "depth"
        )
    }


def assert_same_as_rebuild():
    """The nested-set numbers are exactly those of mptt's own rebuild() (ordered by code)."""
    before = snapshot()
    Region.objects.rebuild()
    assert snapshot() == before


def descendants_in_csv(rows, code):
    children = defaultdict(list)
    for r in rows:
        children[r["parent_code"]].append(r["code"])
    count, stack = 0, [code]
    while stack:
        kids = children.get(stack.pop(), [])
        count += len(kids)
        stack.extend(kids)
    return count


def test_guangdong_import(db):
    out = StringIO()
    result = regions_import(path=GUANGDONG, stdout=out)

    assert (result.created, result.updated, result.unchanged, result.kept) == (1747, 0, 0, 0)
    assert result.errors == []
    assert Region.objects.count() == 1747
    gd = Region.objects.get(name="广东省")
    assert (gd.level, gd.parent, gd.depth, gd.lft, gd.rght) == ("province", None, 0, 1, 2 * 1747)
    # 东莞 has no counties: its towns hang directly under the city.
    dongguan = Region.objects.get(name="东莞市")
    assert (dongguan.level, dongguan.parent_id) == ("city", gd.pk)
    towns = list(dongguan.get_children())
    assert len(towns) == 32
    assert {t.level for t in towns} == {"town"}
    assert [t.code for t in towns] == sorted(t.code for t in towns)
    assert all(t.depth == 2 and t.is_leaf_node() for t in towns)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Read 1747 ")
    assert any("Inserted 1747" in line for line in lines)
    assert_same_as_rebuild()


def test_national_import_shapes(db):
    rows = read_csv(NATIONAL)
    result = regions_import(path=NATIONAL)

    assert result.created == len(rows) == 41909
    assert Region.objects.count() == 41909
    assert Region.objects.root_nodes().count() == 31
    assert list(Region.objects.root_nodes().values_list("tree_id", flat=True)) == list(range(1, 32))
    # Municipality: districts directly under the province row.
    beijing = Region.objects.get(code="110000000000")
    dongcheng = Region.objects.get(code="110101000000")
    assert (dongcheng.name, dongcheng.level, dongcheng.parent_id, dongcheng.depth) == (
        "东城区",
        "county",
        beijing.pk,
        1,
    )
    assert beijing.get_descendant_count() == descendants_in_csv(rows, "110000000000")
    # Province-administered county-level city.
    hubei = Region.objects.get(name="湖北省")
    xiantao = Region.objects.get(name="仙桃市")
    assert (xiantao.level, xiantao.parent_id, xiantao.depth) == ("county", hubei.pk, 1)
    assert list(xiantao.get_ancestors()) == [hubei]
    assert hubei.get_descendant_count() == descendants_in_csv(rows, "420000000000")
    assert hubei.contains(Region.objects.filter(parent=xiantao).first())


def test_rows_in_any_order(db, tmp_path):
    """Children before their parents in the file give the same tree."""
    rows = read_csv(GUANGDONG)
    reversed_file = write_csv(tmp_path, [",".join(r.values()) for r in reversed(rows)])
    regions_import(path=reversed_file)
    got = {code: v[1:] for code, v in snapshot().items()}
    Region._base_manager.update(parent=None)
    Region._base_manager.all().delete()

    regions_import(path=GUANGDONG)
    assert {code: v[1:] for code, v in snapshot().items()} == got


def test_province_filter(db):
    out = StringIO()
    result = regions_import(path=NATIONAL, province="广东省", stdout=out)

    assert result.created == 1747
    assert set(Region.objects.values_list("code", flat=True)) == {r["code"] for r in read_csv(GUANGDONG)}
    assert Region.objects.get(name="广东省").tree_id == 1
    assert_same_as_rebuild()

    # By code, and adding a second province next to the first.
    result = regions_import(path=NATIONAL, province="420000000000")
    assert (result.created, result.kept) == (descendants_in_csv(read_csv(NATIONAL), "420000000000") + 1, 1747)
    assert Region.objects.get(name="湖北省").tree_id == 1
    assert Region.objects.get(name="广东省").tree_id == 2


def test_province_not_found(db, tmp_path):
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=GUANGDONG, province="湖北省")
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0][0] == 0
    assert "湖北省" in exc.value.errors[0][1]
    assert Region.objects.count() == 0
    # A city is not a province.
    with pytest.raises(RegionImportError):
        regions_import(path=GUANGDONG, province="广州市")


def test_rerun_changes_nothing(db):
    regions_import(path=GUANGDONG)
    before = snapshot()

    result = regions_import(path=GUANGDONG)

    assert (result.created, result.updated, result.renumbered, result.kept) == (0, 0, 0, 0)
    assert result.unchanged == 1747
    assert snapshot() == before


def test_rename_updates_in_place(db, tmp_path):
    regions_import(path=tree_csv(tmp_path))
    yuexiu = Region.objects.get(code="440104000000")
    user = User.objects.create(username="x", kind=UserKind.OFFICIAL, region=yuexiu)
    before = snapshot()

    renamed = [(c, "越秀新区" if c == "440104000000" else n, lv, p) for c, n, lv, p in TREE]
    result = regions_import(path=tree_csv(tmp_path, renamed, "renamed.csv"))

    assert (result.created, result.updated, result.unchanged) == (0, 1, len(TREE) - 1)
    after = snapshot()
    assert after["440104000000"] == (yuexiu.pk, "越秀新区", *before["440104000000"][2:])
    assert {c: v for c, v in after.items() if c != "440104000000"} == {
        c: v for c, v in before.items() if c != "440104000000"
    }
    user.refresh_from_db()
    assert user.region_id == yuexiu.pk
    assert user.region.name == "越秀新区"


def test_moved_region_keeps_pk(db, tmp_path):
    """A region whose parent changes in the file is moved, keeping its primary key."""
    regions_import(path=tree_csv(tmp_path))
    town = Region.objects.get(code="440104002000")  # 北京街道 under 越秀区
    moved = [(c, n, lv, "440103000000" if c == "440104002000" else p) for c, n, lv, p in TREE]

    result = regions_import(path=tree_csv(tmp_path, moved, "moved.csv"))

    assert result.updated == 1
    town.refresh_from_db()
    assert town.parent.name == "荔湾区"
    assert [a.name for a in town.get_ancestors()] == ["广东省", "广州市", "荔湾区"]
    assert_same_as_rebuild()


def test_bad_code_and_unknown_parent_write_nothing(db, tmp_path):
    Region.objects.create(code="110000000000", name="北京市", level="province")
    before = snapshot()
    path = write_csv(
        tmp_path,
        [
            "440000000000,广东省,province,",  # line 2
            "440100000000,广州市,city,440000000000",  # line 3
            "44010300000,荔湾区,county,440100000000",  # line 4: 11 digits
            "440104000000,越秀区,county,440199000000",  # line 5: no such parent
            "110101000000,东城区,county,110000000000",  # line 6: parent in the database: fine
            "440105000000,海珠区,district,440100000000",  # line 7: unknown level
            "440106000000,,county,440100000000",  # line 8: empty name
            "440111000000,白云区,county,4401",  # line 9: bad parent code
        ],
    )

    with pytest.raises(RegionImportError) as exc:
        regions_import(path=path)

    lines = [line for line, _ in exc.value.errors]
    assert lines == [4, 5, 7, 8, 9]
    messages = dict(exc.value.errors)
    assert "44010300000" in messages[4]
    assert "440199000000" in messages[5]
    assert "district" in messages[7]
    assert snapshot() == before


def test_duplicate_code(db, tmp_path):
    path = write_csv(
        tmp_path,
        [
            "440000000000,广东省,province,",
            "440100000000,广州市,city,440000000000",
            "440100000000,广州,city,440000000000",  # line 4
        ],
    )
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=path)
    assert len(exc.value.errors) == 1
    line, message = exc.value.errors[0]
    assert line == 4
    assert "440100000000" in message and "3" in message
    assert Region.objects.count() == 0


def test_cycle(db, tmp_path):
    path = write_csv(
        tmp_path,
        [
            "440000000000,广东省,province,",
            "440100000000,广州市,city,440103000000",  # line 3
            "440103000000,荔湾区,county,440100000000",  # line 4
            "440300000000,深圳市,city,440300000000",  # line 5: its own parent
        ],
    )
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=path)
    assert [line for line, _ in exc.value.errors] == [3, 4, 5]
    assert Region.objects.count() == 0


def test_cycle_through_the_database(db, tmp_path):
    """A file row may not hang under a database region that hangs under it."""
    gd = Region.objects.create(code="440000000000", name="广东省", level="province")
    Region.objects.create(code="440100000000", name="广州市", level="city", parent=gd)
    path = write_csv(tmp_path, ["440000000000,广东省,province,440100000000"])
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=path)
    assert [line for line, _ in exc.value.errors] == [2]


def test_header_and_encoding_errors(db, tmp_path):
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("code,name,parent\n440000000000,广东省,\n", encoding="utf-8")
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=bad_header)
    assert [line for line, _ in exc.value.errors] == [1]

    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(f"{HEADER}\n440000000000,广东省,province,\n".encode("gbk"))
    with pytest.raises(RegionImportError) as exc:
        regions_import(path=gbk)
    assert [line for line, _ in exc.value.errors] == [2]
    assert Region.objects.count() == 0


def test_mptt_queries_after_import(db):
    rows = read_csv(GUANGDONG)
    regions_import(path=GUANGDONG)

    guangzhou = Region.objects.get(name="广州市")
    assert guangzhou.get_descendant_count() == descendants_in_csv(rows, "440100000000")
    assert guangzhou.get_descendants().count() == descendants_in_csv(rows, "440100000000")
    children = [r["code"] for r in rows if r["parent_code"] == "440100000000"]
    assert [c.code for c in guangzhou.get_children()] == sorted(children)
    shamian = Region.objects.get(name="沙面街道")
    assert [a.name for a in shamian.get_ancestors()] == ["广东省", "广州市", "荔湾区"]
    assert shamian.full_name() == "广东省广州市荔湾区沙面街道"
    assert shamian.is_leaf_node() and not guangzhou.is_leaf_node()
    assert guangzhou.contains(shamian)
    assert Region.objects.within(guangzhou).count() == descendants_in_csv(rows, "440100000000") + 1

    # mptt's own inserts keep working on the imported tree.
    lw = Region.objects.get(name="荔湾区")
    new = Region.objects.create(code="440103999000", name="测试街道", level="town", parent=lw)
    assert new.get_ancestors().count() == 3
    assert lw.get_children().last() == new
    assert_same_as_rebuild()


def test_same_numbers_as_mptt_saves(regions, tmp_path):
    """The fixture tree, built by mptt saves one node at a time, is exactly what the import computes."""
    result = regions_import(path=tree_csv(tmp_path))
    assert (result.created, result.updated, result.renumbered) == (0, 0, 0)
    assert result.unchanged == len(TREE)


def test_merge_into_hand_made_tree(db):
    gd = Region.objects.create(code="440000000000", name="广东", level="province")
    extra = Region.objects.create(code="440199000000", name="自建试点区", level="county", parent=gd)
    beijing = Region.objects.create(code="110000000000", name="北京市", level="province")
    official = User.objects.create(username="x", kind=UserKind.OFFICIAL, region=gd)

    result = regions_import(path=GUANGDONG)

    assert (result.created, result.updated, result.unchanged, result.kept) == (1746, 1, 0, 2)
    assert Region.objects.count() == 1749
    gd.refresh_from_db()
    assert gd.name == "广东省"
    assert Region.objects.get(code="440000000000").pk == official.region_id
    extra.refresh_from_db()
    assert extra.parent_id == gd.pk
    assert gd.get_descendant_count() == 1746 + 1
    # Kept among the file's cities in code order: after 广州市 (440100), before 深圳市 (440300).
    codes = [c.code for c in gd.get_children()]
    assert codes.index("440199000000") == codes.index("440100000000") + 1
    beijing.refresh_from_db()
    assert (beijing.tree_id, gd.tree_id) == (1, 2)
    assert_same_as_rebuild()


def test_command(db, tmp_path):
    out = StringIO()
    call_command("import_regions", str(GUANGDONG), "--province", "广东省", stdout=out)
    assert "1747 created" in out.getvalue()
    assert Region.objects.count() == 1747

    out = StringIO()
    call_command("import_regions", str(GUANGDONG), stdout=out)
    assert "0 created, 0 updated" in out.getvalue()


def test_command_errors(db, tmp_path):
    path = write_csv(
        tmp_path,
        [
            "440000000000,广东省,province,",
            "4401,广州市,city,440000000000",
            "440300000000,深圳市,city,449999999999",
        ],
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 errors"):
        call_command("import_regions", str(path), stdout=out, stderr=err)
    errors = err.getvalue().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("line 3: ")
    assert errors[1].startswith("line 4: ")
    assert Region.objects.count() == 0

    with pytest.raises(CommandError):
        call_command("import_regions", str(tmp_path / "missing.csv"), stdout=out, stderr=err)


def test_update_fallback_without_update_from(db, tmp_path, monkeypatch):
    """Databases without UPDATE ... FROM get the same result through bulk_update()."""
    monkeypatch.setattr("accounts.regions_import._can_update_from_values", lambda connection: False)
    regions_import(
        path=tree_csv(
            tmp_path,
            [t for t in TREE if t[0] != "110000000000" and t[3] != "110000000000" and t[3] != "110101000000"],
        )
    )
    before = snapshot()
    renamed = [(c, "越秀新区" if c == "440104000000" else n, lv, p) for c, n, lv, p in TREE]

    result = regions_import(path=tree_csv(tmp_path, renamed, "renamed.csv"))

    assert (result.created, result.updated) == (3, 1)
    assert result.renumbered > 0  # 北京市 comes first: the other trees move up one tree id
    after = snapshot()
    assert after["440104000000"][:2] == (before["440104000000"][0], "越秀新区")
    assert all(after[code][0] == before[code][0] for code in before)
    assert_same_as_rebuild()


def test_child_ranking_above_its_parent_is_refused_with_line_number(db, tmp_path):
    path = tmp_path / "bad_levels.csv"
    path.write_text(
        "code,name,level,parent_code\n"
        "440000000000,广东省,province,\n"
        "440100000000,广州市,city,440000000000\n"
        "440104000000,越秀区,province,440100000000\n",
        encoding="utf-8",
    )
    from accounts.models import Region
    from accounts.regions_import import RegionImportError, regions_import

    with pytest.raises(RegionImportError) as excinfo:
        regions_import(path=path)
    assert [line for line, _ in excinfo.value.errors] == [4]
    assert Region.objects.count() == 0
