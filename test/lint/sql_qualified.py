#!/usr/bin/env python3
"""
test/lint/sql_qualified.py
  Fails when an SQL statement written in the C code (src/, bgworker/) names
  a function, type, collation or table without a schema.

The extension's workers run as superuser and its fmgr functions may run in
a superuser's session: an unqualified name is resolved through search_path,
and any schema on it that others can write (public, owned by the database
owner) could hide a function of the same name with a better-matching
signature (issue 12: public.date_bin(text, ...) made the database owner a
superuser).  Every statement qualifies what it calls (pg_catalog.,
triggerstock., %s. for the extension's schema); operators are covered by
the search_path the workers and fmgr functions pin (src/schema.h).

What counts as SQL: a run of adjacent C string literals that starts with
SELECT, WITH, INSERT, UPDATE, DELETE or SET, and every literal appended to a
StringInfo named sql.  Checked in each:
  - name( is a function call unless the name is a SQL keyword form
    (COALESCE, EXISTS, VALUES, ROW, ...) or an alias column list (AS x(...),
    ) x(...));
  - ::name casts to a type that is not a keyword type (int, bigint,
    boolean, double precision, interval, numeric, ...);
  - typename 'literal' with a non-keyword type name (timestamptz 'epoch');
  - COLLATE "name";
  - FROM / JOIN / INTO / UPDATE / TABLE followed by a table name that is
    neither qualified nor a WITH query of the statement.
A line holding "sql-lint: ok" (in a comment) exempts the literal run that
starts on it.  Usage: sql_qualified.py DIR... (exit 1 and a list if any).
"""
import os
import re
import sys

# Names that may stand before "(" without being function calls.
KEYWORD_CALLS = {
    "select", "values", "row", "in", "exists", "any", "all", "some", "coalesce", "nullif",
    "greatest", "least", "cast", "extract", "over", "filter", "lateral", "as", "on", "using",
    "from", "join", "where", "and", "or", "not", "into", "conflict", "update", "set", "insert",
    "with", "returning", "by", "partition", "window", "distinct", "then", "else", "when",
    "case", "is", "limit", "offset", "union", "group", "order", "having", "array", "overlay",
    "position", "substring", "trim", "do", "nothing", "ordinality", "materialized", "grouping",
    "operator",
}
# Type names the grammar turns into pg_catalog types itself.
KEYWORD_TYPES = {
    "int", "integer", "bigint", "smallint", "boolean", "real", "numeric", "decimal", "dec",
    "float", "double", "interval", "timestamp", "time", "char", "character", "varchar", "bit",
    "national", "nchar", "zone",
}
TABLE_VERBS = {"from", "join", "into", "update", "table"}
SQL_START = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|SET)\b")


def literal_runs(path):
    """(line, text) of each run of adjacent string literals, comments removed."""
    src = open(path, encoding="utf-8").read()
    exempt = {i + 1 for i, l in enumerate(src.split("\n")) if "sql-lint: ok" in l}
    src = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    lit = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    follow = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
    pos = 0
    while True:
        m = lit.search(src, pos)
        if not m:
            return
        # skip character constants such as '"'
        if m.start() > 0 and src[m.start() - 1] == "'":
            pos = m.end()
            continue
        parts, end = [m.group(1)], m.end()
        while True:
            m2 = follow.match(src, end)
            if not m2:
                break
            parts.append(m2.group(1))
            end = m2.end()
        line = src.count("\n", 0, m.start()) + 1
        before = src[max(0, m.start() - 80):m.start()]
        appended = re.search(r"appendStringInfo\w*\s*\(\s*&sql\s*,\s*$", before) is not None
        text = "".join(parts).replace('\\"', '"').replace("\\n", "\n")
        if line not in exempt and (appended or SQL_START.match(text)):
            yield line, text
        pos = end


def tokens(sql):
    """Tokens: quoted strings, quoted identifiers, words, ::, punctuation."""
    tok = re.compile(r"""
        (?P<str>[Ee]?'(?:[^']|'')*')
      | (?P<qid>"(?:[^"]|"")*")
      | (?P<fmt>%(?:\d+\$)?s)
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<cast>::)
      | (?P<num>\d+(?:\.\d+)?)
      | (?P<p>\S)
    """, re.X)
    return [(m.lastgroup, m.group(0)) for m in tok.finditer(sql)]


def check(sql):
    """Problems of one statement."""
    t = tokens(sql)
    problems = []
    ctes = set()
    for i, (k, v) in enumerate(t):
        if k == "word" and i + 2 < len(t) and t[i + 1] == ("word", "AS") and t[i + 2] == ("p", "("):
            ctes.add(v.lower())
        if k == "word" and i + 2 < len(t) and t[i + 1][1].upper() == "AS" and t[i + 2][1] == "(":
            ctes.add(v.lower())
    # for each token, the word before the innermost open parenthesis
    inside, stack = [], []
    for i, (k, v) in enumerate(t):
        inside.append(stack[-1] if stack else "")
        if (k, v) == ("p", "("):
            stack.append(t[i - 1][1].lower() if i > 0 else "")
        elif (k, v) == ("p", ")") and stack:
            stack.pop()
    for i, (k, v) in enumerate(t):
        prev = t[i - 1] if i > 0 else ("", "")
        nxt = t[i + 1] if i + 1 < len(t) else ("", "")
        qualified = prev == ("p", ".")
        if k in ("word", "qid") and nxt == ("p", "(") and not qualified:
            name = v.lower()
            alias = prev[0] == "word" and prev[1].upper() == "AS" or prev == ("p", ")")
            if name not in KEYWORD_CALLS and not alias and not (k == "word" and name in ctes):
                problems.append("unqualified function %s()" % v)
        if k == "cast" and nxt[0] in ("word", "qid"):
            j = i + 1
            if not (j + 1 < len(t) and t[j + 1] == ("p", ".")) and nxt[1].lower() not in KEYWORD_TYPES:
                problems.append("unqualified type ::%s" % nxt[1])
        if k == "word" and nxt[0] == "str" and not nxt[1].startswith(("E'", "e'")) and not qualified \
                and v.lower() not in KEYWORD_TYPES and v.upper() not in (
                    "THEN", "ELSE", "WHEN", "AND", "OR", "IN", "IS", "LIKE", "AS", "SELECT", "VALUES",
                    "WHERE", "BY", "NOT", "SET", "ESCAPE", "RETURNING", "DISTINCT", "FROM"):
            problems.append("type literal with unqualified type %s %s" % (v, nxt[1]))
        if k == "word" and v.upper() == "COLLATE" and nxt[0] in ("word", "qid"):
            if not (i + 2 < len(t) and t[i + 2] == ("p", ".")):
                problems.append("unqualified collation %s" % nxt[1])
        if k == "word" and v.lower() in TABLE_VERBS and nxt[0] in ("word", "qid"):
            name = nxt[1].lower()
            dotted = i + 2 < len(t) and t[i + 2] == ("p", ".")
            called = i + 2 < len(t) and t[i + 2] == ("p", "(")
            if not dotted and not called and name not in ctes and name not in (
                    "lateral", "only", "select", "unnest", "rows") and not (v.lower() == "update" and name == "set") \
                    and not (v.lower() == "from" and inside[i] in ("extract", "substring", "trim", "overlay")):
                problems.append("unqualified table %s %s" % (v, nxt[1]))
    return problems


def main(dirs):
    bad = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if not f.endswith(".c"):
                    continue
                path = os.path.join(root, f)
                for line, sql in literal_runs(path):
                    for p in check(sql):
                        print("%s:%d: %s" % (path, line, p))
                        bad += 1
    if bad:
        print("%d unqualified names in SQL of the C code (see test/lint/sql_qualified.py)" % bad)
        return 1
    print("sql_qualified: every SQL statement in %s qualifies its names" % ", ".join(dirs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src", "bgworker"]))
