"""bench/scale.py report: the README tables from the harness JSON, with the before-#14 columns."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from scalelib.report import END, START, render, run  # noqa: E402


def _row(page, p50, p95, **kw):
    return {"role": "province", "page": page, "p50_ms": p50, "p95_ms": p95, "queries": 7, **kw}


def test_the_pages_table_shows_before_and_after_and_marks_the_misses(tmp_path):
    after = [_row("activities", 35, 39, admin_p50_ms=200, sql_p50_ms=20), _row("statistics", 12, 150),
             {"role": "city", "page": "broken", "status": 500}]
    before = [_row("activities", 1156, 1427)]
    text = render(after, None, None, before)
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| province")}
    assert "| 1,156 / 1,427 | 35 | 39 |" in lines["activities"] and lines["activities"].endswith("| ok |")
    assert "| — | 12 | 150 |" in lines["statistics"] and "over: p95" in lines["statistics"]
    assert "| city | broken | | HTTP 500 |" in text and "p95 ≤ 100 ms on 1 of 2" in text

    readme = tmp_path / "README.md"
    readme.write_text(f"# Bench\n\n{START}\nold\n{END}\n\nafter\n")
    pages, was = tmp_path / "pages.json", tmp_path / "before.json"
    pages.write_text(json.dumps(after))
    was.write_text(json.dumps(before))

    class Args:
        pass

    args = Args()
    args.pages, args.load, args.weight, args.before, args.readme, args.print = pages, "-", "-", was, readme, False
    run(args)
    body = readme.read_text()
    assert "old" not in body and "1,156 / 1,427" in body and body.endswith("after\n")
