#!/usr/bin/python3
"""test/tools/hostile_calls.py - call every function of the triggerstock
extension with hostile arguments (run by test/tools/hostile-calls.sh).

For each function whose argument types are listed in HOSTILE: all arguments
NULL, all "normal", every hostile value of each argument in turn (the others
normal), then CALLS_PER_FUNCTION random combinations of hostile values
(seeded).  Aggregates run over three rows,
window functions OVER (), set-returning functions are counted.  Every
outcome is tallied by SQLSTATE; the run fails (exit 1) when any call raised
an internal error (XX000: an elog, not a refusal with its own errcode) and
exits 2 if the connection is lost (the server crashed or killed us).
Statement timeouts (10 s) are listed: a hostile argument that makes a call
run away instead of being refused.

Usage: hostile_calls.py DSN SEED CALLS_PER_FUNCTION"""
import random, sys, psycopg2, collections

HOSTILE = {
 'text': ["NULL", "''", "repeat('x', 100000)", "E'\\\\x01'", "'BTC'", "'''; SELECT 1; --'", "'ü€'", "repeat('ü', 64)", "'nope'"],
 'integer': ["NULL", "0", "-1", "2147483647", "-2147483648", "1"],
 'smallint': ["NULL", "0", "-1", "32767"],
 'bigint': ["NULL", "0", "-1", "9223372036854775807", "-9223372036854775808", "1"],
 'double precision': ["NULL", "'NaN'", "'Infinity'", "'-Infinity'", "0", "-1", "1e308", "0.5"],
 'real': ["NULL", "'NaN'", "'Infinity'", "0"],
 'numeric': ["NULL", "'NaN'", "0", "-1"],
 'boolean': ["NULL", "true", "false"],
 'interval': ["NULL", "'0'", "'-1 minute'", "'178000000 years'", "'1 microsecond'", "'1 month'", "'1 minute'", "'5 minutes'", "'1 day'", "'-178000000 years'"],
 'timestamp with time zone': ["NULL", "'infinity'", "'-infinity'", "'4713-01-01 00:00+00 BC'", "'294276-12-31 00:00+00'", "now()", "'2022-01-15'", "'epoch'"],
 'jsonb': ["NULL", "'{}'", "'[]'", "'null'", "'1'", "'{\"max_depth\": -1}'", "'{\"num_boost_round\": 100000000}'", "'{\"booster\": \"gblinear\"}'", "(SELECT jsonb_object_agg(i::text, i) FROM generate_series(1, 2000) i)", "'{\"x\": {\"y\": [1, 2, {\"z\": null}]}}'"],
 'json': ["NULL", "'{}'", "'[]'"],
 'text[]': ["NULL", "'{}'", "'{NULL}'", "(SELECT array_agg(i::text) FROM generate_series(1, 10000) i)", "ARRAY['BTC', '']", "'{{a,b},{c,d}}'"],
 'double precision[]': ["NULL", "'{}'", "'{NULL}'", "'{NaN,Infinity}'", "'{{1,2},{3,4}}'", "(SELECT array_agg(i::float8) FROM generate_series(1, 100000) i)"],
 'bigint[]': ["NULL", "'{}'", "'{NULL}'", "'{-1,0}'"],
 'integer[]': ["NULL", "'{}'", "'{NULL}'", "'{-1}'"],
 'timestamp with time zone[]': ["NULL", "'{}'", "'{NULL}'", "'{infinity}'"],
 'bytea': ["NULL", "''", "'\\x00'", "decode(repeat('ff', 100000), 'hex')"],
 'oid': ["NULL", "0", "1"],
 'regclass': ["NULL", "0", "'pg_class'"],
 'name': ["NULL", "''", "'x'"],
 'date': ["NULL", "'infinity'", "'2022-01-01'"],
 'time without time zone': ["NULL", "'00:00'", "'24:00'", "'23:59:59.999999'", "'12:00'"],
 'ohlcv': ["NULL", "(SELECT ohlcv(now(), 1, 1, 1))", "(SELECT ohlcv(t, 'NaN', 'Infinity', -1) FROM (VALUES (now())) v(t))",
           "ROW(1, 2, 0.5, 1, -1, 'NaN', -5, 'infinity', '-infinity', 9, -9, NULL)::ohlcv",
           "ROW(1, 2, 0.5, 1, 1, 1, 1, now(), now(), 1, 1, '\\x0102')::ohlcv",
           "ROW(1, 2, 0.5, 1, 1, 1, 1, now(), now(), 1, 1, decode(repeat('ff', 4096), 'hex'))::ohlcv",
           "ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::ohlcv"],
}
NORMAL = {'text': "'BTC'", 'integer': "1", 'bigint': "1", 'smallint': "1", 'double precision': "0.5", 'real': "0.5",
          'numeric': "1", 'boolean': "true", 'interval': "'1 minute'", 'timestamp with time zone': "'2022-01-15'",
          'jsonb': "'{}'", 'json': "'{}'", 'text[]': "ARRAY['BTC']", 'double precision[]': "ARRAY[0.5]",
          'bigint[]': "ARRAY[1]", 'integer[]': "ARRAY[1]", 'timestamp with time zone[]': "ARRAY[now()]",
          'bytea': "'\\x00'", 'oid': "1", 'time without time zone': "'00:00'", 'ohlcv': "(SELECT ohlcv(now(), 1, 1, 1))", 'regclass': "'pg_class'", 'name': "'x'", 'date': "'2022-01-01'"}

def main():
    dsn, seed, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(seed)
    conn = psycopg2.connect(dsn); conn.autocommit = True; cur = conn.cursor()
    cur.execute("""
      SELECT p.oid::regprocedure::text, p.proname, n.nspname, p.prokind,
             array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t),
             format_type(p.prorettype, NULL)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'triggerstock'
      ORDER BY 1""")
    funcs = cur.fetchall()
    internal = collections.OrderedDict(); slow = collections.OrderedDict(); skipped = []; calls = 0; codes = collections.Counter()
    for sig, name, nsp, kind, args, ret in funcs:
        if ret in ('trigger', 'event_trigger', 'internal') or any(a not in HOSTILE for a in args):
            skipped.append(sig); continue
        combos = [["NULL"] * len(args), [NORMAL[a] for a in args]]
        for i in range(len(args)):
            # each hostile value of argument i, the others normal
            for v in HOSTILE[args[i]]:
                combos.append([NORMAL[a] if j != i else v for j, a in enumerate(args)])
        for _ in range(per):
            combos.append([rnd.choice(HOSTILE[a]) for a in args])
        for combo in combos:
            call = '%s.%s(%s)' % (nsp, name, ', '.join('%s::%s' % (v, a) for v, a in zip(combo, args)))
            if kind == 'p':
                sql = 'CALL ' + call
            elif kind == 'w':
                sql = 'SELECT %s OVER () FROM generate_series(1, 3)' % call
            elif kind == 'a':
                sql = 'SELECT %s FROM generate_series(1, 3)' % call
            elif ret.startswith('SETOF') or ret == 'record':
                sql = 'SELECT count(*) FROM (SELECT %s) x' % call
            else:
                sql = 'SELECT (%s) IS NULL' % call
            calls += 1
            try:
                cur.execute("SET statement_timeout = '10s'")
                cur.execute(sql)
                cur.fetchall()
                codes['ok'] += 1
            except psycopg2.Error as e:
                if conn.closed or e.pgcode is None:
                    print("CONNECTION LOST: %s\n  %s" % (sql[:300], e))
                    sys.exit(2)
                codes[e.pgcode] += 1
                if e.pgcode == '57014':
                    slow.setdefault(sig, sql[:300])
                elif e.pgcode == 'XX000':
                    internal.setdefault(sig, (sql[:300], e.pgerror.strip().split('\n')[0]))
    print("functions: %d, called: %d, skipped (argument types): %s" % (len(funcs), len(funcs) - len(skipped), ', '.join(skipped)))
    print("calls: %d; outcomes: %s" % (calls, dict(codes.most_common())))
    print("statement timeouts (10 s) in %d functions:" % len(slow))
    for sig, sql in slow.items():
        print("  %s\n    %s" % (sig, sql))
    print("internal errors (XX000) in %d functions:" % len(internal))
    for sig, (sql, msg) in internal.items():
        print("  %s\n    %s\n    %s" % (sig, sql, msg))
    if internal:
        sys.exit(1)

main()
