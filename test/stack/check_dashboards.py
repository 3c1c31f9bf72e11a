#!/usr/bin/python3
"""check_dashboards.py - plays Grafana's PostgreSQL data source against the dashboards.

Reads every dashboard in grafana/dashboards, and for each panel query and
each query variable: substitutes the dashboard variables as Grafana's SQL
data sources do (a single value is inserted as it is, quotes doubled), the
global macros ($__interval, $__interval_ms, $__unixEpochFrom/To()) and the
PostgreSQL macros ($__time, $__timeEpoch, $__timeFilter, $__timeFrom,
$__timeTo, $__timeGroup, $__timeGroupAlias, $__unixEpochFilter,
$__unixEpochGroup(Alias), ...) exactly as Grafana's backend expands them
for the chosen time range (pkg/tsdb/grafana-postgresql-datasource/
macros.go: the regex \\$(\\w+)\\(([^)]*)\\), RFC 3339 bounds, floor(extract(epoch
from col)/s)*s groups), then runs it as the read-only role against the
database and checks:
  - every dashboard parses, has a uid, unique panel ids, refers only to the
    provisioned data source uid, and equals grafana/dashboards.py's output;
  - every query succeeds and returns rows (for each time range), except
    panels listed in EMPTY_OK whose source relation is empty;
  - the columns fit the panel: time series and candlestick queries return
    a column "time" first (timestamptz, or epoch seconds), a candlestick
    also open, high, low, close, volume; a "metric" column is text;
  - the read-only role cannot read secrets or write.
Prints a table (dashboard, panel, range, rows, columns, ms) and exits 1 on
any failure.

Usage: check_dashboards.py --dsn SUPERUSER_URI --role-dsn GRAFANA_URI
       [--ranges 1h,24h] [--var symbol=BTC] [--var width='5 minutes'] [--bench N]
"""
import argparse
import datetime
import glob
import json
import os
import re
import sys
import time

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS_UID = "triggerstock"
TIMESTAMP_OIDS = {1184, 1114}                # timestamptz, timestamp
NUMERIC_OIDS = {20, 21, 23, 700, 701, 1700}  # int8, int2, int4, float4, float8, numeric
TEXT_OIDS = {25, 1043, 19}
# panel title -> superuser query that must be true for an empty answer
EMPTY_OK = {
    "Recent dead letters": "SELECT NOT EXISTS (SELECT 1 FROM triggerstock.dead_letters)",
}


def parse_interval(text):
    """Grafana's gtime.ParseInterval for the forms panels use: 30s, 1m, 5m, 1h, 1d, 1w, 500ms."""
    m = re.fullmatch(r"\s*'?(\d+)(ms|s|m|h|d|w|y)'?\s*", text)
    if not m:
        raise ValueError("cannot parse interval %r" % text)
    n, unit = int(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[unit]


def format_interval(seconds):
    """gtime.FormatInterval: the largest whole unit."""
    ms = int(round(seconds * 1000))
    for unit, size in (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000),
                       ("m", 60000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return "%d%s" % (ms // size, unit)
    return "%dms" % ms


def round_interval(ms):
    """Grafana's rangeutil.roundInterval (ms)."""
    steps = [(15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
             (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
             (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000),
             (750000, 600000), (1050000, 900000), (1500000, 1200000), (2700000, 1800000),
             (5400000, 3600000), (9000000, 7200000), (16200000, 10800000),
             (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
             (1814400000, 604800000), (3628800000, 2592000000)]
    for limit, value in steps:
        if ms < limit:
            return value
    return 31536000000


def panel_interval(t_from, t_to, min_interval="1m", max_data_points=1000):
    """$__interval as Grafana computes it: range / max data points, rounded, at least the minimum."""
    ms = (t_to - t_from).total_seconds() * 1000 / max_data_points
    return max(round_interval(ms) / 1000.0, parse_interval(min_interval))


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def substitute_variables(sql, variables):
    """The frontend's template replacement for single-value variables: $v, ${v}, [[v]]."""
    def value(name):
        if name not in variables:
            raise KeyError("unknown dashboard variable $%s" % name)
        return str(variables[name]).replace("'", "''")

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.startswith("__"):
            return m.group(0)       # Grafana's own: global and data source macros
        return value(name)
    return re.sub(r"\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]", repl, sql)


def expand_macros(sql, t_from, t_to, interval_s):
    """sqleng.Interpolate, then the PostgreSQL macro engine (macros.go)."""
    sql = sql.replace("$__interval_ms", str(int(interval_s * 1000)))
    sql = sql.replace("$__interval", format_interval(interval_s))
    sql = sql.replace("$__unixEpochFrom()", str(int(t_from.timestamp())))
    sql = sql.replace("$__unixEpochTo()", str(int(t_to.timestamp())))
    errors = []

    def group(args, name):
        if len(args) < 2:
            raise ValueError("macro %s needs time column and interval" % name)
        s = parse_interval(args[1])
        return "floor(extract(epoch from %s)/%s)*%s" % (args[0], fmt_num(s), fmt_num(s))

    def macro(m):
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if name == "__timeGroup" and sql[m.end():m.end() + 1] == ",":
            name = "__timeGroupAlias"     # pre-5.3 compatibility, as Grafana does
        try:
            if name == "__time":
                return '%s AS "time"' % args[0]
            if name == "__timeEpoch":
                return 'extract(epoch from %s) as "time"' % args[0]
            if name == "__timeFilter":
                return "%s BETWEEN '%s' AND '%s'" % (args[0], rfc3339(t_from), rfc3339(t_to))
            if name == "__timeFrom":
                return "'%s'" % rfc3339(t_from)
            if name == "__timeTo":
                return "'%s'" % rfc3339(t_to)
            if name == "__timeGroup":
                return group(args, name)
            if name == "__timeGroupAlias":
                return group(args, name) + ' AS "time"'
            if name == "__unixEpochFilter":
                return "%s >= %d AND %s <= %d" % (args[0], int(t_from.timestamp()), args[0], int(t_to.timestamp()))
            if name == "__unixEpochGroup":
                s = parse_interval(args[1])
                return "floor((%s)/%s)*%s" % (args[0], fmt_num(s), fmt_num(s))
            if name == "__unixEpochGroupAlias":
                s = parse_interval(args[1])
                return 'floor((%s)/%s)*%s AS "time"' % (args[0], fmt_num(s), fmt_num(s))
        except (IndexError, ValueError) as e:
            errors.append(str(e))
            return "macro_error()"
        errors.append("unknown macro %r" % name)
        return "macro_error()"
    out = re.sub(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)", macro, sql)
    if errors:
        raise ValueError("; ".join(errors))
    return out


def fmt_num(s):
    """Go's %v of a float64 number of seconds."""
    return ("%d" % s) if float(s).is_integer() else repr(float(s))


def check_columns(ptype, fmt, desc):
    names = [d.name for d in desc]
    oids = [d.type_code for d in desc]
    problems = []
    if fmt == "time_series" or ptype in ("timeseries", "candlestick"):
        if not names or names[0] != "time":
            problems.append("first column is %r, not time" % (names[0] if names else None))
        elif oids[0] not in TIMESTAMP_OIDS | NUMERIC_OIDS:
            problems.append("time column has type oid %d" % oids[0])
        if "metric" in names and oids[names.index("metric")] not in TEXT_OIDS:
            problems.append("metric column is not text")
        values = [n for n in names[1:] if n != "metric"]
        if not values:
            problems.append("no value column")
    if ptype == "candlestick":
        for col in ("open", "high", "low", "close", "volume"):
            if col not in names:
                problems.append("candlestick without %s" % col)
            elif oids[names.index(col)] not in NUMERIC_OIDS:
                problems.append("candlestick %s is not numeric" % col)
    return problems


def dashboards():
    paths = sorted(glob.glob(os.path.join(REPO, "grafana", "dashboards", "*.json")))
    if not paths:
        raise SystemExit("no dashboards in grafana/dashboards")
    return paths


def structural_checks(paths, failures):
    sys.path.insert(0, os.path.join(REPO, "grafana"))
    import dashboards as gen  # grafana/dashboards.py
    expected = gen.render()
    uids = set()
    loaded = []
    for path in paths:
        name = os.path.basename(path)
        try:
            with open(path) as f:
                text = f.read()
            d = json.loads(text)
        except (OSError, ValueError) as e:
            failures.append("%s: does not parse: %s" % (name, e))
            continue
        if expected.get(name) != text:
            failures.append("%s: differs from grafana/dashboards.py's output (run it)" % name)
        if not d.get("uid") or d["uid"] in uids:
            failures.append("%s: missing or duplicate uid" % name)
        uids.add(d.get("uid"))
        ids = [p.get("id") for p in d.get("panels", [])]
        if len(ids) != len(set(ids)) or None in ids:
            failures.append("%s: duplicate or missing panel ids %s" % (name, ids))
        refs = [p.get("datasource") for p in d.get("panels", [])]
        refs += [t.get("datasource") for p in d.get("panels", []) for t in p.get("targets", [])]
        refs += [v.get("datasource") for v in d["templating"]["list"] if v.get("type") == "query"]
        for r in refs:
            if not isinstance(r, dict) or r.get("uid") != DS_UID:
                failures.append("%s: unknown data source %r" % (name, r))
        loaded.append((name, d))
    return loaded


def run(cur, sql, bench):
    t0 = time.perf_counter()
    cur.execute(sql)
    rows = cur.fetchall()
    ms = (time.perf_counter() - t0) * 1000
    for _ in range(bench):
        t0 = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        ms = min(ms, (time.perf_counter() - t0) * 1000)
    return rows, ms


def role_checks(rcur, failures):
    """What the read-only role must not be able to do."""
    for stmt in ("SELECT * FROM triggerstock.source_secrets",
                 "SELECT payload FROM triggerstock.dead_letters",
                 "SELECT url FROM triggerstock.sources",
                 "INSERT INTO triggerstock.news (guid) VALUES ('x')",
                 "CREATE TABLE grafana.x (i int)",
                 "SELECT count(*) FROM triggerstock.trades"):
        try:
            rcur.execute(stmt)
            failures.append("read-only role could run: %s" % stmt)
        except psycopg2.Error:
            pass
        rcur.connection.rollback()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--role-dsn", required=True)
    ap.add_argument("--ranges", default="1h,24h")
    ap.add_argument("--var", action="append", default=[])
    ap.add_argument("--bench", type=int, default=0, help="repeat each query N more times, report the best")
    ap.add_argument("--baseline", help="a query timed the same way; adds a ratio column")
    ap.add_argument("--report-only", action="store_true", help="list failures but exit 0 (benchmarks)")
    a = ap.parse_args()

    failures = []
    loaded = structural_checks(dashboards(), failures)
    su = psycopg2.connect(a.dsn)
    su.autocommit = True
    scur = su.cursor()
    role = psycopg2.connect(a.role_dsn)
    rcur = role.cursor()
    role_checks(rcur, failures)
    role.autocommit = True
    rcur.execute("SET TimeZone = 'UTC'")
    scur.execute("SELECT now()")
    now = scur.fetchone()[0]
    overrides = dict(v.split("=", 1) for v in a.var)

    table = []
    for name, d in loaded:
        variables = {}
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                try:
                    rows, ms = run(rcur, substitute_variables(v["query"], variables), 0)
                except (psycopg2.Error, KeyError) as e:
                    failures.append("%s: variable %s: %s" % (name, v["name"], str(e).strip()))
                    rows, ms = [], 0
                if not rows:
                    failures.append("%s: variable %s has no values" % (name, v["name"]))
                table.append((name, "variable $" + v["name"], "-", len(rows), 1, ms))
                values = [r[0] for r in rows]
                variables[v["name"]] = overrides.get(v["name"], v["current"]["value"]
                                                     if v["current"]["value"] in values or not values
                                                     else values[0])
            else:
                variables[v["name"]] = overrides.get(v["name"], v["current"]["value"])
        for p in d["panels"]:
            for rng in a.ranges.split(","):
                t_to = now
                t_from = now - datetime.timedelta(seconds=parse_interval(rng))
                interval = panel_interval(t_from, t_to, "1m", p.get("maxDataPoints", 1000))
                for t in p["targets"]:
                    label = "%s / %s [%s]" % (name, p["title"], rng)
                    try:
                        sql = expand_macros(substitute_variables(t["rawSql"], variables), t_from, t_to, interval)
                        rows, ms = run(rcur, sql, a.bench)
                    except (psycopg2.Error, KeyError, ValueError) as e:
                        failures.append("%s: %s" % (label, str(e).strip()))
                        table.append((name, p["title"], rng, "ERROR", "-", 0))
                        continue
                    problems = check_columns(p["type"], t.get("format", "time_series"), rcur.description)
                    failures += ["%s: %s" % (label, x) for x in problems]
                    if not rows:
                        ok = EMPTY_OK.get(p["title"])
                        if ok is None:
                            failures.append("%s: no rows" % label)
                        else:
                            scur.execute(ok)
                            if not scur.fetchone()[0]:
                                failures.append("%s: no rows although its data exists" % label)
                    table.append((name, p["title"], rng, len(rows), len(rcur.description), ms))

    base = None
    if a.baseline:
        _, base = run(rcur, a.baseline, a.bench)
        print("baseline: %.2f ms  (%s)" % (base, a.baseline))
    w = max(len(r[1]) for r in table)
    print("%-17s %-*s %5s %6s %4s %8s%s" % ("dashboard", min(w, 70), "panel", "range", "rows", "cols", "ms",
                                          "    ratio" if base else ""))
    for r in table:
        print("%-17s %-*s %5s %6s %4s %8.1f%s" % (r[0], min(w, 70), r[1][:70], r[2], r[3], r[4], r[5],
                                                "  %7.2f" % (r[5] / base) if base else ""))
    if failures:
        print("\nFAILED (%d):" % len(failures))
        for f in failures:
            print("  " + f.split("\n")[0])
        sys.exit(0 if a.report_only else 1)
    print("\nall %d queries of %d dashboards passed as the read-only role" % (len(table), len(loaded)))


if __name__ == "__main__":
    main()
