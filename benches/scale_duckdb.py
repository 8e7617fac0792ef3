#!/usr/bin/env python3
"""A blocking self-join with string similarity on 1M records: DuckDB against mergetag-scale's
plan, both measured in the same run on the same Parquet file.

examples/join_speed.rs writes generated records (their folded comparison features, a coarse
blocking key: the folded first name and the birth year; about 39M candidate pairs at 1M
records) as one Parquet file. Then, each under a 2 GiB memory limit on 2 threads:

- mergetag: the self-join on the key (a sort-merge join, which spills) with `mergetag_levels`,
  the plan's vectorised UDF, comparing every pair on every feature column with the dedup
  crate's own comparisons (Jaro-Winkler among them), three rounds;
- DuckDB: the same join with `jaro_winkler_similarity` on every feature column, three rounds;
- with --hash, mergetag's query as a hash join under the same pool.

The naive per-row DataFusion UDF is measured by `cargo bench --bench scale --features scale`.

    pip install duckdb
    python3 benches/scale_duckdb.py [RECORDS] [--hash]

It builds the example first; JOIN_SPEED_EXE=path/to/join_speed runs a binary already built
instead (one built with other features, say, so that DataFusion is not built twice).

Prints one JSON line per round, then each side's best time and the ratio.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lines(cmd):
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    work = os.path.join(tempfile.gettempdir(), f"mergetag-join-{n}")
    exe = os.environ.get("JOIN_SPEED_EXE")
    if not exe:
        subprocess.run(
            ["cargo", "build", "--release", "-q", "--example", "join_speed",
             "--features", "scale"],
            cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        exe = os.path.join(target, "release", "examples", "join_speed")
    written = lines([exe, "write", str(n), work])[0]

    ours = lines([exe, "run", work])
    if "--hash" in sys.argv:
        lines([exe, "run", work, "hash"])

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{os.path.join(work, 'duckdb-spill')}'")
    parquet = os.path.join(work, "join.parquet")
    columns = [c for (c,) in con.execute(
        f"SELECT name FROM parquet_schema('{parquet}') WHERE name LIKE 'f%'").fetchall()]
    similarity = " + ".join(f"jaro_winkler_similarity(l.{c}, r.{c})" for c in columns)
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{parquet}')")
    sql = (f"SELECT count(*), sum({similarity}) FROM t l JOIN t r "
           "ON l.k = r.k AND l.pos < r.pos")
    theirs = []
    for round in range(3):
        start = time.perf_counter()
        pairs, _ = con.execute(sql).fetchone()
        seconds = time.perf_counter() - start
        row = {"step": "duckdb", "round": round, "pairs": pairs, "seconds": round3(seconds),
               "version": duckdb.__version__}
        print(json.dumps(row), flush=True)
        theirs.append(row)

    assert all(r["pairs"] == written["pairs"] for r in ours + theirs if "pairs" in r), \
        "the engines joined different numbers of pairs"
    best_ours = min(r["seconds"] for r in ours)
    best_theirs = min(r["seconds"] for r in theirs)
    print(json.dumps({
        "records": written["records"], "pairs": written["pairs"],
        "mergetag_seconds": best_ours, "duckdb_seconds": best_theirs,
        "mergetag_vs_duckdb": round3(best_ours / best_theirs),
        "mergetag_peak_rss_mib": max(r["peak_rss_mib"] for r in ours),
    }))


def round3(x):
    return round(x, 3)


if __name__ == "__main__":
    main()
