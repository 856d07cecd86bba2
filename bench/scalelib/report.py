"""`bench/scale.py report`: the tables of bench/README.md from the JSON of `pages`, `load` and `weight`.

Writes the Markdown between the markers `<!-- scale-report:start -->` and `<!-- scale-report:end -->` of
the README (or prints it with `--print`). Targets of issue #14: every list and queue page p95 ≤ 100 ms for
the province official, ≤ 0.5× the admin changelist, ≤ 2× its own SQL, ≤ 15 queries; mixed load ≥ 200 req/s
with p95 ≤ 250 ms at 50 users and no errors; first page ≤ 200 KB, later pages ≤ 30 KB.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

START, END = "<!-- scale-report:start -->", "<!-- scale-report:end -->"


def add_arguments(ap):
    ap.add_argument("--pages", default="var/bench/pages.json")
    ap.add_argument("--load", default="var/bench/load.json")
    ap.add_argument("--weight", default="var/bench/weight.json")
    ap.add_argument("--before", default="bench/scale-before.json",
                    help="pages JSON of the code before issue #14 (the before columns; rows matched by role and page)")
    ap.add_argument("--readme", default="bench/README.md")
    ap.add_argument("--print", action="store_true", help="print the Markdown instead of writing the README")


def _read(path):
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def _ms(v):
    return "—" if v is None else f"{v:,.0f}"


def pages_table(rows, before=None) -> list[str]:
    before = {(r["role"], r["page"]): r for r in before or () if "p50_ms" in r}
    out = ["| role | page | before p50 / p95 ms | p50 ms | p95 ms | queries | admin p50 | × admin | own SQL p50 | "
           "× SQL | targets |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "p50_ms" not in r:
            out.append(f"| {r['role']} | {r['page']} | | HTTP {r.get('status')} | | | | | | | FAIL |")
            continue
        was = before.get((r["role"], r["page"]))
        was = f"{_ms(was['p50_ms'])} / {_ms(was['p95_ms'])}" if was else "—"
        admin, sql = r.get("admin_p50_ms") or None, r.get("sql_p50_ms") or None
        x_admin = r["p50_ms"] / admin if admin else None
        x_sql = r["p50_ms"] / sql if sql else None
        misses = []
        if r["p95_ms"] > 100:
            misses.append("p95")
        if x_admin is not None and x_admin > 0.5:
            misses.append("admin")
        if x_sql is not None and x_sql > 2:
            misses.append("SQL")
        if r["queries"] > 15:
            misses.append("queries")
        out.append(
            f"| {r['role']} | {r['page']} | {was} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | {r['queries']} | "
            f"{_ms(admin)} | {'' if x_admin is None else f'{x_admin:.2f}'} | {_ms(sql)} | "
            f"{'' if x_sql is None else f'{x_sql:.1f}'} | {'ok' if not misses else 'over: ' + ', '.join(misses)} |")
    return out


def load_table(runs) -> list[str]:
    out = ["| users | settings | req/s | p50 ms | p95 ms | p99 ms | errors |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        out.append(f"| {r['users']} | {r.get('settings', '')} | {r['rps']} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | "
                   f"{_ms(r['p99_ms'])} | {r['errors']} |")
    return out


def weight_table(data) -> list[str]:
    out = ["| role | first page | cold kB | later page | later kB |", "|---|---|---|---|---|"]
    for r in data.get("results", []):
        out.append(f"| {r['role']} | {r['first']['url']} | {r['cold_bytes'] / 1000:.1f} | {r['later']['url']} | "
                   f"{r['later_bytes'] / 1000:.1f} |")
    return out


def render(pages, load, weight, before=None) -> str:
    lines = [f"Written by `bench/scale.py report` on {datetime.date.today():%Y-%m-%d}.", ""]
    if pages:
        timed = [r for r in pages if "p50_ms" in r]
        ok = sum(1 for r in timed if r["p95_ms"] <= 100)
        lines += [f"**Pages** ({len(pages)} rows; p95 ≤ 100 ms on {ok} of {len(timed)}; before: the same harness "
                  f"on the code before issue #14, `bench/scale-before.json`, where it had the page):", ""]
        lines += pages_table(pages, before)
        lines.append("")
    if load:
        lines += ["**Mixed load** (gunicorn, closed loop):", ""] + load_table(load) + [""]
    if weight:
        lines += ["**Page weight** (bytes transferred, production settings):", ""] + weight_table(weight) + [""]
    return "\n".join(lines)


def run(args):
    text = render(_read(args.pages), _read(args.load), _read(args.weight), _read(args.before))
    if args.print:
        print(text)
        return
    readme = Path(args.readme)
    body = readme.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in body and END in body:
        body = body[: body.index(START)] + block + body[body.index(END) + len(END):]
    else:
        body = body.rstrip("\n") + "\n\n## Province scale: the latest tables (`make bench-scale`, or `bench/scale.py report` after the runs)\n\n" + block + "\n"
    readme.write_text(body)
    print(f"wrote the tables into {readme}")
