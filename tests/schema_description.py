"""What a notes database's schema is, as plain data to compare: every table, column,
constraint, index and trigger (and PostgreSQL's trigger function), read from the
database's own catalog.

tests/schema_v7.json holds the description of a new database made by commit fbf2aa5,
which built it by replaying every development version (v1 to v7 on SQLite, v4 to v7 on
PostgreSQL); test_migration.py checks that today's one-step schema is the same. To write
it again (only ever from the commit that made a version, never from today's code):
`python tests/schema_description.py > tests/schema_v7.json` with that commit's app.py.
"""

from __future__ import annotations

import re
import sqlite3


def _normalised(sql: str | None) -> str | None:
    """SQL text without comments, quotes around names or layout: a table that grew by
    ALTER TABLE reads as if created whole."""
    if sql is None:
        return None
    sql = re.sub(r"--[^\n]*", "", sql).replace('"', "")
    sql = re.sub(r"\s+", " ", sql)
    return re.sub(r"\s*([(),;])\s*", r"\1", sql).strip()


def describe_sqlite(conn: sqlite3.Connection) -> dict:
    """sqlite_master (each entry's SQL normalised), and each table's and index's columns."""
    entries = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    description: dict = {
        "objects": [[kind, name, table, _normalised(sql)] for kind, name, table, sql in entries]
    }
    for kind, name, *_ in entries:
        if kind in ("table", "index"):
            pragma = "table_xinfo" if kind == "table" else "index_xinfo"
            rows = conn.execute(f"PRAGMA {pragma}('{name}')").fetchall()
            description[f"{kind} {name}"] = [list(row) for row in rows]
    return description


_PG_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind::text FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
               a.attstattarget
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
              AND NOT a.attisdropped
        ORDER BY 1, 2""",
    # A CHECK added NOT VALID to an existing table (the v6 -> v7 upgrade) is the same
    # rule as one written into CREATE TABLE; only the rows before it were not checked.
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype::text,
               replace(pg_get_constraintdef(oid), ' NOT VALID', '')
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1""",
    "triggers": """
        SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal ORDER BY 1""",
    "functions": """
        SELECT proname, prosrc FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace ORDER BY 1""",
    "sequences": """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
               s.seqmax, s.seqmin, s.seqcache, s.seqcycle
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid ORDER BY 1""",
}


def describe_postgresql(conn) -> dict:
    """The public schema from pg_catalog (a function's body with its layout normalised)."""
    description = {}
    for part, query in _PG_QUERIES.items():
        rows = [list(row) for row in conn.execute(query).fetchall()]
        if part == "functions":
            rows = [[name, _normalised(body)] for name, body in rows]
        description[part] = rows
    return description


if __name__ == "__main__":  # print the description of new databases made by ./app.py
    import json
    import sys
    import tempfile
    from pathlib import Path

    import psycopg

    sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]
    from pg_cluster import Cluster, find_bin_dir

    import app

    with tempfile.TemporaryDirectory() as folder:
        conn = app.connect(Path(folder) / "notes.db")
        described = {"sqlite": describe_sqlite(conn)}
        conn.close()
    cluster = Cluster(find_bin_dir()).start()
    try:
        url = cluster.url(cluster.create_database())
        app.open_postgres(url).close()
        with psycopg.connect(url) as pg:
            described["postgresql"] = describe_postgresql(pg)
    finally:
        cluster.remove()
    print(json.dumps(described, indent=1, ensure_ascii=False))
