# The 0.1 -> 0.2 data migrations of issue 10, on a 0.1 database holding
# what 0.1 produced:
#  - 1-minute candles merged the 0.1 way (the stored candle and the new
#    trades' candle rolled up without seqs and sums) with opens and closes
#    decided by price on tied timestamps: after ALTER EXTENSION ... UPDATE
#    every candle whose trades are all stored equals ohlcv() over them in
#    every field; a candle whose trades retention dropped keeps its values,
#    with NULL seqs and sums, and still rolls up;
#  - sources and trades get their market (a Binance fstream source: usdm);
#    every trade partition's unique key includes it;
#  - the updated schema equals a fresh 0.2 install (pg_dump --schema-only).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade_issue10');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE DATABASE fresh;
	CREATE EXTENSION triggerstock VERSION '0.1';
	SELECT count(*) FROM create_partitions('2024-08-08', '2024-08-08');
	-- a USD-M source (0.1 had no market) and its trades: ties on ts
	-- whose trade-id order is not their price order
	SELECT add_source('usdm', 'binance', 'wss://fstream.binance.com', ARRAY['BTCUSDT'],
	                  symbols => ARRAY['BTC'], enabled => false);
	INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
	SELECT 'binance', 'BTCUSDT', 'BTC', id,
	       TIMESTAMPTZ '2024-08-08 10:00:00+00' + (id / 10) * interval '1 second',
	       60000 + ((id * 7919) % 101), 0.001 * (1 + id % 13)
	FROM generate_series(1, 2000) id;
	-- the 0.1 merge: each minute's candle stored as the rollup of the candles
	-- of two flushes, which 0.1 did without seqs (ties fall back to price)
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	SELECT symbol, interval '1 minute', bucket, (m).open, (m).high, (m).low, (m).close, (m).volume,
	       (m).vwap, (m).trades, (m).open_time, (m).close_time
	FROM (SELECT symbol, bucket, rollup(c) AS m
	      FROM (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket, trade_id % 2 AS flush,
	                   ohlcv(ts, price, qty, trade_id) AS c
	            FROM triggerstock.trades GROUP BY 1, 2, 3) f
	      GROUP BY 1, 2) r;
	-- a candle whose trades retention no longer has
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	VALUES ('BTC', '1 minute', '2024-08-01 00:00+00', 1, 2, 0.5, 1.5, 10, 1.25, 3,
	        '2024-08-01 00:00:01+00', '2024-08-01 00:00:59+00')});

my $wrong = $node->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.candles k
	JOIN (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
	             (array_agg(price ORDER BY ts, trade_id))[1] AS open,
	             (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close
	      FROM triggerstock.trades GROUP BY 1, 2) d USING (symbol, bucket)
	WHERE (k.open, k.close) IS DISTINCT FROM (d.open, d.close)});
cmp_ok($wrong, '>', 0, "0.1: the merged candles have $wrong wrong opens or closes");

$node->safe_psql('postgres', 'ALTER EXTENSION triggerstock UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'triggerstock'"),
	'0.2', 'updated to 0.2');

is($node->safe_psql('postgres', q{
	SELECT count(*) || '/' || count(*) FILTER (WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
	                    k.trades, k.open_time, k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv
	                IS DISTINCT FROM d.c)
	FROM triggerstock.candles k
	JOIN (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
	             ohlcv(ts, price, qty, trade_id) AS c
	      FROM triggerstock.trades GROUP BY 1, 2) d USING (symbol, bucket)}),
	'4/0', 'every candle with its trades equals ohlcv() over them in every field');
is($node->safe_psql('postgres', q{
	SELECT open || '|' || close || '|' || trades || '|' || (open_seq IS NULL) || '|' || (sums IS NULL)
	FROM triggerstock.candles WHERE bucket = '2024-08-01 00:00+00'}),
	'1|1.5|3|true|true', 'a candle without its trades keeps its values, with NULL seq and sums');
is($node->safe_psql('postgres', q{
	SELECT trades || '|' || volume FROM candles('1 day') WHERE bucket = '2024-08-01'}),
	'3|10', 'and still rolls up');

is($node->safe_psql('postgres', q{SELECT market FROM triggerstock.sources WHERE name = 'usdm'}),
	'usdm', 'the fstream source is a USD-M market');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT market, ',') FROM triggerstock.trades}),
	'usdm', "its trades are the USD-M market's");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_constraint c JOIN pg_inherits i ON i.inhrelid = c.conrelid
	WHERE i.inhparent = 'triggerstock.trades'::regclass AND c.contype = 'u'
	  AND pg_get_constraintdef(c.oid) = 'UNIQUE (exchange, market, instrument, trade_id, ts)'}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'triggerstock.trades'::regclass}),
	'every trade partition is unique on (exchange, market, instrument, trade_id, ts)');

# the updated database has the objects of a fresh install: every member of
# the extension with its definition, columns, constraints and comments, and
# the schema of what is not a member (the daily partitions)
$node->safe_psql('fresh', 'CREATE EXTENSION triggerstock');
$node->safe_psql('fresh', q{SELECT count(*) FROM create_partitions('2024-08-08', '2024-08-08')});
my $members = q{
	SELECT pg_describe_object(d.classid, d.objid, 0) || ': ' || coalesce(CASE d.classid
	    WHEN 'pg_proc'::regclass THEN
	        (SELECT CASE WHEN p.prokind = 'a' THEN pg_get_function_arguments(p.oid) || ' ' || a.aggtransfn::regproc
	                         || ' ' || a.aggfinalfn::regproc || ' ' || a.aggcombinefn::regproc
	                         || ' ' || a.aggtransspace
	                     ELSE pg_get_functiondef(p.oid) END
	         FROM pg_proc p LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid WHERE p.oid = d.objid)
	    WHEN 'pg_class'::regclass THEN
	        (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	                           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
	                           || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
	                           || coalesce(' -- ' || col_description(a.attrelid, a.attnum), ''),
	                           ', ' ORDER BY a.attnum)
	         FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	         WHERE a.attrelid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
	        || coalesce((SELECT ' constraints ' || string_agg(c.conname || ' ' || pg_get_constraintdef(c.oid), '; '
	                                                          ORDER BY c.conname)
	                     FROM pg_constraint c WHERE c.conrelid = d.objid), '')
	        || coalesce((SELECT ' view ' || pg_get_viewdef(d.objid) FROM pg_class r
	                     WHERE r.oid = d.objid AND r.relkind = 'v'), '')
	    WHEN 'pg_type'::regclass THEN
	        (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	                           || coalesce(' -- ' || col_description(a.attrelid, a.attnum), ''), ', ' ORDER BY a.attnum)
	         FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
	         WHERE t.oid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
	    END, '')
	    || ' comment: ' || coalesce(obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)), '')
	FROM pg_depend d
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'triggerstock')
	ORDER BY 1};
my @upd = split /\n/, $node->safe_psql('postgres', $members);
my @new = split /\n/, $node->safe_psql('fresh', $members);
my %in_new = map { $_ => 1 } @new;
my %in_upd = map { $_ => 1 } @upd;
is(join("\n", (map { "missing: $_" } grep { !$in_upd{$_} } @new), (map { "extra: $_" } grep { !$in_new{$_} } @upd)),
	'', scalar(@new) . ' extension members: the updated database has the objects of a fresh install');
my @dump = ('pg_dump', '--schema-only', '--no-owner', '-d');
my $upd = `@dump '${\$node->connstr('postgres')}'`;
my $new = `@dump '${\$node->connstr('fresh')}'`;
s/^(--|\\(un)?restrict ).*$//mg for $upd, $new;    # comments, pg_dump's random \restrict key
is($upd, $new, 'pg_dump --schema-only (the partitions, not members) is the same');

done_testing();
