#!/usr/bin/python3
"""check_readme_sql.py - runs every ```sql block of README.md against a running stack.

So the README cannot drift from the SQL surface: each block is run as the
superuser in the stack's database inside a transaction that is rolled back
(so add_source(), train() or cron.schedule() leave nothing behind), and
must succeed.  A marker in an HTML comment on the line before a block
changes how it runs:
  <!-- readme-sql: fresh-db -->     in a new empty database (CREATE EXTENSION)
  <!-- readme-sql: autocommit -->   statement by statement outside a
                                     transaction (ALTER SYSTEM), followed by
                                     ALTER SYSTEM RESET ALL and a reload
Blocks that are not SQL (a signature, a postgresql.conf excerpt) use
another fence language.  Prints one line per block; exits 1 on a failure.

Usage: check_readme_sql.py --dsn SUPERUSER_URI [README.md]
"""
import argparse
import os
import re
import sys

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks(text):
    """(line number, mode, sql) of each ```sql fence."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sql":
            start = i
            prev = lines[i - 1] if i > 0 else ""
            m = re.search(r"<!--\s*readme-sql:\s*([\w-]+)\s*-->", prev)
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            out.append((start + 1, m.group(1) if m else "rollback", "\n".join(body)))
        i += 1
    return out


def statements(sql):
    """Split on semicolons that end a line outside dollar quotes (enough for the README)."""
    parts, cur, in_dollar = [], [], False
    for line in sql.split("\n"):
        cur.append(line)
        if line.count("$$") % 2 == 1:
            in_dollar = not in_dollar
        if not in_dollar and re.search(r";\s*(--.*)?$", line):
            parts.append("\n".join(cur))
            cur = []
    if "".join(cur).strip():
        parts.append("\n".join(cur))
    return parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("readme", nargs="?", default=os.path.join(REPO, "README.md"))
    a = ap.parse_args()
    failures = 0
    found = blocks(open(a.readme).read())
    for line, mode, sql in found:
        first = sql.strip().split("\n")[0][:70]
        try:
            if mode == "fresh-db":
                admin = psycopg2.connect(a.dsn)
                admin.autocommit = True
                admin.cursor().execute("DROP DATABASE IF EXISTS readme_sql_fresh")
                admin.cursor().execute("CREATE DATABASE readme_sql_fresh")
                con = psycopg2.connect(a.dsn.rsplit("/", 1)[0] + "/readme_sql_fresh")
                con.autocommit = True
                for st in statements(sql):
                    con.cursor().execute(st)
                con.close()
                admin.cursor().execute("DROP DATABASE readme_sql_fresh")
                admin.close()
            elif mode == "autocommit":
                con = psycopg2.connect(a.dsn)
                con.autocommit = True
                try:
                    for st in statements(sql):
                        con.cursor().execute(st)
                finally:
                    con.cursor().execute("ALTER SYSTEM RESET ALL")
                    con.cursor().execute("SELECT pg_reload_conf()")
                    con.close()
            elif mode == "rollback":
                con = psycopg2.connect(a.dsn)
                cur = con.cursor()
                cur.execute(sql)
                con.rollback()
                con.close()
            else:
                raise ValueError("unknown readme-sql marker %r" % mode)
            print("ok   README.md:%-4d %-10s %s" % (line, mode, first))
        except (psycopg2.Error, ValueError) as e:
            failures += 1
            print("FAIL README.md:%-4d %-10s %s\n     %s" % (line, mode, first, str(e).strip().replace("\n", "\n     ")))
    print("%d of %d README SQL blocks ran" % (len(found) - failures, len(found)))
    sys.exit(1 if failures or not found else 0)


if __name__ == "__main__":
    main()
