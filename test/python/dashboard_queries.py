#!/usr/bin/python3
"""dashboard_queries.py - every Grafana panel and variable query, run against one server.

Used by test/t/070_standby.pl on a hot standby and on its primary: expands the
dashboards' queries exactly as test/stack/check_dashboards.py does (same
functions, imported from there) for a fixed end time (--now) and ranges, runs
each in a READ ONLY transaction as the given DSN, and prints one line per
query: "label<TAB>rows<TAB>md5 of the rows" (or "label<TAB>ERROR<TAB>message").
Invariants: nothing is written (each query runs in a read-only transaction,
rolled back); the same --now on two servers with the same data gives the same
lines for every panel that reads tables (panels reading worker memory differ).

Usage: dashboard_queries.py --dsn URI --now TIMESTAMPTZ [--ranges 1h,24h] [--var symbol=ETH]
"""
import argparse
import datetime
import hashlib
import json
import os
import sys

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "stack"))
import check_dashboards as cd  # noqa: E402  test/stack/check_dashboards.py


def run(cur, sql):
    """Rows of sql in a read-only transaction, then rolled back."""
    cur.execute("BEGIN TRANSACTION READ ONLY")
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.connection.rollback()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--now", required=True)
    ap.add_argument("--ranges", default="1h,24h")
    ap.add_argument("--var", action="append", default=[])
    a = ap.parse_args()
    conn = psycopg2.connect(a.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute("SELECT %s::timestamptz", (a.now,))
    now = cur.fetchone()[0]
    overrides = dict(v.split("=", 1) for v in a.var)
    for path in cd.dashboards():
        name = os.path.basename(path)
        with open(path) as f:
            d = json.load(f)
        variables = {}
        for v in d["templating"]["list"]:
            value = v["current"]["value"]
            if v["type"] == "query":
                try:
                    rows = run(cur, cd.substitute_variables(v["query"], variables))
                    values = [r[0] for r in rows]
                    value = value if value in values or not values else values[0]
                    print("%s var %s\t%d\t-" % (name, v["name"], len(rows)))
                except psycopg2.Error as e:
                    print("%s var %s\tERROR\t%s" % (name, v["name"], str(e).strip().split("\n")[0]))
            variables[v["name"]] = overrides.get(v["name"], value)
        for p in d["panels"]:
            for rng in a.ranges.split(","):
                t_from = now - datetime.timedelta(seconds=cd.parse_interval(rng))
                interval = cd.panel_interval(t_from, now, "1m", p.get("maxDataPoints", 1000))
                for i, t in enumerate(p["targets"]):
                    label = "%s / %s / %d [%s]" % (name, p["title"], i, rng)
                    sql = cd.expand_macros(cd.substitute_variables(t["rawSql"], variables), t_from, now, interval)
                    try:
                        rows = run(cur, sql)
                    except psycopg2.Error as e:
                        print("%s\tERROR\t%s" % (label, str(e).strip().split("\n")[0]))
                        continue
                    digest = hashlib.md5(repr(rows).encode()).hexdigest()
                    print("%s\t%d\t%s" % (label, len(rows), digest))


if __name__ == "__main__":
    main()
