# Online features (issue 13) on real candles of ../shared/data/candles:
# every stored online row equals the offline features() row for the same
# bucket, every feature (close, 19 candle features, sentiment_1h, news_1h),
# bit for bit, when candles arrive
#  A. in order (BTC perpetual, 36,025 candles; 1 minute, 5 minutes, 1 hour),
#     one statement per candle, then in batches, with news arriving late;
#  B. as trades (Coinbase BTC-USD, 5 days with gaps, 4 trades per candle)
#     merged the way the ingest flush merges them, through
#     refresh_candle_buckets() and through refresh_candles(since), with late
#     trades re-opening minutes 2 minutes to 3 days old (1 and 15 minutes);
#  C. history rewritten: candles deleted, re-inserted, updated days back;
#  D. a NaN candle stalls the state, fixing it resumes;
#  E. across a restart, and from a stored state of another build (rebuilt);
#  F. from two concurrent writers: one appending candles, one rewriting
#     recent ones;
# and G. features(symbol, width, since) over its bounded warm-up (1000
# buckets) equals the full-history rows bit for bit, on both symbols; the
# table of the largest relative difference per warm-up shows where the
# exponential indicators reach 1e-9 and the last bit.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

my $node = PostgreSQL::Test::Cluster->new('online');
$node->init;
# keep every row, so that every row can be compared
$node->append_conf('postgresql.conf', "triggerstock.feature_rows_keep = 1000000\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	'-f', "$repo/test/sql/online_compare.sql"], 'comparison helpers loaded');

my ($total_values, $total_rows, $max_rel) = (0, 0, 0);

# compare(symbol, width, label): every online row against features()
sub compare
{
	my ($sym, $width, $label) = @_;
	# fresh statistics: the comparison joins tables just filled in bulk
	$node->safe_psql('postgres', 'ANALYZE triggerstock.candles, triggerstock.feature_rows');
	my $r = $node->safe_psql('postgres',
		"SELECT offline_rows, online_rows, compared_rows, compared_values, not_identical, "
		  . "null_mismatches, max_rel_err, missing, extra FROM online_cmp.compare('$sym', '$width')");
	my ($off, $on, $rows, $values, $diff, $nulls, $rel, $missing, $extra) = split /\|/, $r;
	ok($off > 0 && $rows == $off && $on == $off && $missing == 0 && $extra == 0
		  && $diff == 0 && $nulls == 0,
		"$label: $sym/$width: $rows rows x 22 columns = $values values, "
		  . "$diff not bit-identical (max rel $rel), $missing missing, $extra extra");
	$total_values += $values;
	$total_rows += $rows;
	$max_rel = $rel if $rel > $max_rel;
	return;
}

# --- A. in order ------------------------------------------------------------
$node->safe_psql('postgres', qq{
	CREATE TABLE st_perp (ts timestamp, o float8, h float8, l float8, c float8, v float8);
	COPY st_perp FROM '$shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
		WITH (FORMAT csv, HEADER true);
	CREATE TABLE perp AS SELECT row_number() OVER (ORDER BY ts)::int AS rn, ts AT TIME ZONE 'UTC' AS ts,
		o, h, l, c, v FROM st_perp;
	CREATE UNIQUE INDEX ON perp (rn);
	SELECT serve_features('A'), serve_features('A', '5 minutes'), serve_features('A', '1 hour');
});
# the first 3000 candles one statement each (a candle closing at a time),
# the rest in batches of 1 to 997
$node->safe_psql('postgres', q{
	DO $$
	DECLARE
		i int := 1;
		n int;
		total int := (SELECT max(rn) FROM perp);
	BEGIN
		WHILE i <= total LOOP
			n := CASE WHEN i <= 3000 THEN 1 ELSE 1 + (i * 7919) % 997 END;
			INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close,
											  volume, vwap, trades, open_time, close_time)
			SELECT 'A', '1 minute', ts, o, h, l, c, v, NULL, 1, ts, ts + interval '59 seconds'
			FROM perp WHERE rn >= i AND rn < i + n;
			i := i + n;
		END LOOP;
	END
	$$;
});
is($node->safe_psql('postgres',
	"SELECT string_agg(width || ':' || rows, ' ' ORDER BY width) FROM triggerstock.feature_state WHERE symbol = 'A'"),
	'00:01:00:36024 00:05:00:7205 01:00:00:600', 'A: every complete bucket folded (the last one is open)');
# news arrive after the candles they concern closed: the stored rows follow
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.news (guid, title, published_at, symbols, sentiment, scorer)
	SELECT 'a' || i, 'item ' || i,
	       TIMESTAMPTZ '2022-01-02 00:00+00' + (i * 7919 % 40000) * interval '53 seconds',
	       CASE WHEN i % 5 = 0 THEN ARRAY['ETH'] WHEN i % 3 = 0 THEN ARRAY['A', 'ETH'] ELSE ARRAY['A'] END,
	       CASE WHEN i % 4 = 0 THEN NULL ELSE ((i * 31) % 200 - 100) / 100.0 END, 'test'
	FROM generate_series(1, 300) i;
	UPDATE triggerstock.news SET sentiment = -sentiment WHERE guid IN ('a1', 'a2', 'a7');
	DELETE FROM triggerstock.news WHERE guid IN ('a11', 'a13');
});
ok($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.feature_rows WHERE symbol = 'A' AND news_1h > 0") > 1000,
	'A: late news reached the stored rows');
compare('A', '1 minute', 'in order');
compare('A', '5 minutes', 'in order');
compare('A', '1 hour', 'in order');

# --- B. trades: ingest merge, refresh_candle_buckets, refresh_candles, late --
my @days = qw(20161007 20161008 20161009 20170903 20170904);
my $copies = join "\n", map {
	"CREATE TEMP TABLE d$_ (ms bigint, o float8, h float8, l float8, c float8, v float8);\n"
	  . "COPY d$_ FROM '$shared/data/candles/crypto/coinbase_btcusd_1m_lean/${_}_btcusd_minute_trade.csv' WITH (FORMAT csv);\n"
	  . "INSERT INTO cb_raw SELECT (date '$_' + ms * interval '1 millisecond') AT TIME ZONE 'UTC', o, h, l, c, v FROM d$_;"
} @days;
$node->safe_psql('postgres', qq{
	CREATE TABLE cb_raw (ts timestamptz, o float8, h float8, l float8, c float8, v float8);
	$copies
	CREATE TABLE cb AS SELECT row_number() OVER (ORDER BY ts)::int AS rn, * FROM cb_raw;
	CREATE UNIQUE INDEX ON cb (rn);
	-- four trades per candle: open, high, low, close, a quarter of the volume each
	CREATE TABLE cb_trades AS
	SELECT c.rn, k, c.ts + (k * 15) * interval '1 second' AS ts,
	       (ARRAY[c.o, c.h, c.l, c.c])[k + 1] AS price, c.v / 4 AS qty, c.rn * 10 + k AS trade_id
	FROM cb c, generate_series(0, 3) k;
	CREATE INDEX ON cb_trades (rn);
	SELECT serve_features('B'), serve_features('B', '15 minutes');
});
# one chunk of 10 candles' trades per transaction, alternately merged into
# their candles as the ingest flush does (rollup with the stored candle),
# recomputed by refresh_candle_buckets(), or by refresh_candles(since);
# every 7th chunk also a late trade 2 minutes to 3 days back
my $feed = q{
	CREATE OR REPLACE PROCEDURE feed_b(first_chunk int, last_chunk int)
	LANGUAGE plpgsql AS $$
	DECLARE
		late int;
		mode int;
		stored bigint;
	BEGIN
		FOR ch IN first_chunk .. last_chunk LOOP
			mode := ch % 3;
			CREATE TEMP TABLE IF NOT EXISTS batch (symbol text, ts timestamptz, price float8,
			                                       qty float8, trade_id bigint);
			TRUNCATE batch;
			INSERT INTO batch SELECT 'B', t.ts, t.price, t.qty, t.trade_id
			FROM cb_trades t WHERE t.rn > ch * 10 AND t.rn <= ch * 10 + 10;
			IF ch % 7 = 6 THEN
				late := ch * 10 - (ARRAY[2, 45, 300, 1500, 4000])[1 + (ch / 7) % 5];
				IF late >= 1 THEN
					INSERT INTO batch SELECT 'B', c.ts + interval '50 seconds', (c.h + c.l) / 2,
					                         c.v / 10 + 0.001, 900000000 + ch
					FROM cb c WHERE c.rn = late;
				END IF;
			END IF;
			IF mode = 0 THEN
				-- the ingest flush's candle merge (store_candles, as bgworker/ingest_copy.c)
				WITH ins AS (
					INSERT INTO triggerstock.trades AS t (exchange, instrument, symbol, trade_id, ts, price, qty)
					SELECT 'test', 'B-USD', b.symbol, b.trade_id, b.ts, b.price, b.qty FROM batch b
					ON CONFLICT DO NOTHING
					RETURNING t.symbol, t.ts, t.price, t.qty, t.trade_id
				), fresh AS (
					SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
					       ohlcv(ts, price, qty, trade_id) AS c
					FROM ins GROUP BY 1, 2
				)
				SELECT store_candles(array_agg(f.symbol), array_agg(f.bucket), array_agg(f.c)) INTO stored
				FROM fresh f;
			ELSIF mode = 1 THEN
				INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
				SELECT 'test', 'B-USD', symbol, trade_id, ts, price, qty FROM batch;
				PERFORM refresh_candle_buckets(array_agg(symbol), array_agg(ts)) FROM batch;
			ELSE
				INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, received_at)
				SELECT 'test', 'B-USD', symbol, trade_id, ts, price, qty,
				       TIMESTAMPTZ '2100-01-01' + ch * interval '1 second' FROM batch;
				PERFORM refresh_candles(TIMESTAMPTZ '2100-01-01' + ch * interval '1 second');
			END IF;
			COMMIT;
		END LOOP;
	END
	$$;
};
$node->safe_psql('postgres', $feed);
my $nchunks = $node->safe_psql('postgres', 'SELECT (max(rn) - 1) / 10 FROM cb');
my $half = int($nchunks / 2);
$node->safe_psql('postgres', "CALL feed_b(0, $half)");
compare('B', '1 minute', 'trades, half way');
compare('B', '15 minutes', 'trades, half way');
$node->safe_psql('postgres', "CALL feed_b($half + 1, $nchunks)");
is($node->safe_psql('postgres', q{SELECT sum(trades) - 4 * count(*) FROM triggerstock.candles WHERE symbol = 'B'}),
	$node->safe_psql('postgres', qq{
		SELECT count(*) FROM generate_series(0, $nchunks) ch
		WHERE ch % 7 = 6 AND ch * 10 - (ARRAY[2, 45, 300, 1500, 4000])[1 + (ch / 7) % 5] >= 1}),
	'B: every late trade landed in an old candle');
compare('B', '1 minute', 'trades, late trades');
compare('B', '15 minutes', 'trades, late trades');

# --- C. history rewritten -------------------------------------------------
$node->safe_psql('postgres', q{
	DELETE FROM triggerstock.candles WHERE symbol = 'A' AND bucket > '2022-01-25 21:45+00';
});
is($node->safe_psql('postgres', "SELECT max(bucket) FROM triggerstock.feature_rows WHERE symbol = 'A' AND width = '1 minute'"),
	'2022-01-25 21:44:00+00', 'C: deleted candles took their rows along');
compare('A', '1 minute', 'after a delete');
compare('A', '1 hour', 'after a delete');
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap,
	                                  trades, open_time, close_time)
	SELECT 'A', '1 minute', ts, o, h, l, c, v, NULL, 1, ts, ts + interval '59 seconds'
	FROM perp WHERE ts > '2022-01-25 21:45+00';
	UPDATE triggerstock.candles SET close = close * 1.001, high = greatest(high, close * 1.001)
	WHERE symbol = 'A' AND bucket IN ('2022-01-23 10:17+00', '2022-01-25 20:00+00');
});
compare('A', '1 minute', 'after re-insert and updates days back');
compare('A', '5 minutes', 'after re-insert and updates days back');

# --- D. a NaN candle stalls, a fix resumes --------------------------------
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap,
	                                  trades, open_time, close_time)
	VALUES ('A', '1 minute', '2022-01-25 23:26+00', 1, 1, 1, 'NaN', 1, NULL, 1,
	        '2022-01-25 23:26+00', '2022-01-25 23:26:59+00'),
	       ('A', '1 minute', '2022-01-25 23:27+00', 37000, 37010, 36990, 37005, 2, NULL, 1,
	        '2022-01-25 23:27+00', '2022-01-25 23:27:59+00'),
	       ('A', '1 minute', '2022-01-25 23:28+00', 37005, 37010, 36990, 37001, 3, NULL, 1,
	        '2022-01-25 23:28+00', '2022-01-25 23:28:59+00');
});
is($node->safe_psql('postgres', "SELECT bucket || ' ' || stalled_at || ' ' || (error IS NOT NULL) FROM triggerstock.feature_state WHERE symbol = 'A' AND width = '1 minute'"),
	'2022-01-25 23:25:00+00 2022-01-25 23:26:00+00 true', 'D: a NaN candle stalls the state before it');
$node->safe_psql('postgres', q{
	UPDATE triggerstock.candles SET close = 37000 WHERE symbol = 'A' AND bucket = '2022-01-25 23:26+00'});
is($node->safe_psql('postgres', "SELECT bucket || ' ' || coalesce(stalled_at::text, '-') FROM triggerstock.feature_state WHERE symbol = 'A' AND width = '1 minute'"),
	'2022-01-25 23:27:00+00 -', 'D: fixing the candle resumes folding');
compare('A', '1 minute', 'after a stall');

# --- E. restart; a stored state of another build --------------------------
my $before = $node->safe_psql('postgres', "SELECT md5(string_agg(symbol || width || bucket || md5(state), ',' ORDER BY 1)) FROM triggerstock.feature_state");
$node->restart;
is($node->safe_psql('postgres', "SELECT md5(string_agg(symbol || width || bucket || md5(state), ',' ORDER BY 1)) FROM triggerstock.feature_state"),
	$before, 'E: the state survives a restart');
$node->safe_psql('postgres', q{
	UPDATE triggerstock.feature_state SET state = '\x0000' WHERE symbol = 'A' AND width = '5 minutes';
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap,
	                                  trades, open_time, close_time)
	VALUES ('A', '1 minute', '2022-01-25 23:29+00', 37001, 37003, 36999, 37002, 1, NULL, 1,
	        '2022-01-25 23:29+00', '2022-01-25 23:29:59+00'),
	       ('A', '1 minute', '2022-01-25 23:31+00', 37002, 37004, 36998, 37000, 1, NULL, 1,
	        '2022-01-25 23:31+00', '2022-01-25 23:31:01+00');
});
compare('A', '1 minute', 'after a restart');
compare('A', '5 minutes', 'from an unreadable stored state');

# --- F. two concurrent writers ----------------------------------------------
$node->safe_psql('postgres', "SELECT serve_features('C'), serve_features('C', '5 minutes')");
my $append = "$tmp/append.sql";
my $rewrite = "$tmp/rewrite.sql";
open(my $fa, '>', $append) or die;
for my $rn (1 .. 3000)
{
	print $fa "INSERT INTO triggerstock.candles SELECT 'C', '1 minute', ts, o, h, l, c, v, NULL, 1, ts, "
	  . "ts + interval '59 seconds' FROM perp WHERE rn = $rn;\n";
}
close $fa;
open(my $fr, '>', $rewrite) or die;
for my $i (1 .. 600)
{
	my $back = 1 + ($i * 37) % 90;
	print $fr "UPDATE triggerstock.candles SET volume = volume + 1 WHERE symbol = 'C' AND bucket = "
	  . "(SELECT bucket FROM triggerstock.candles WHERE symbol = 'C' AND width = '1 minute' "
	  . "ORDER BY bucket DESC OFFSET $back LIMIT 1);\n";
	print $fr "SELECT pg_sleep(0.002);\n";
}
close $fr;
my @psql = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-o', '/dev/null');
my ($oa, $ea, $or, $er) = ('', '', '', '');
my $ha = IPC::Run::start([@psql, '-f', $append], '>', \$oa, '2>', \$ea);
my $hr = IPC::Run::start([@psql, '-f', $rewrite], '>', \$or, '2>', \$er);
ok($ha->finish && $hr->finish, 'F: both writers finished without error') or diag("$ea\n$er");
ok($node->safe_psql('postgres', "SELECT sum(volume) - (SELECT sum(v) FROM perp WHERE rn <= 3000) FROM triggerstock.candles WHERE symbol = 'C'") > 100,
	'F: the rewriter changed folded candles while the appender ran');
compare('C', '1 minute', 'two concurrent writers');
compare('C', '5 minutes', 'two concurrent writers');

note(sprintf('online vs offline: %d rows, %d values compared, max relative difference %g',
	$total_rows, $total_values, $max_rel));

# --- G. features(since): bounded warm-up ----------------------------------
$node->safe_psql('postgres', q{
	INSERT INTO online_cmp.full_rows SELECT 'A', '1 minute', f.* FROM features('A') f;
	INSERT INTO online_cmp.full_rows SELECT 'B', '1 minute', f.* FROM features('B') f;
	CREATE TABLE warm (sym text, warmup int, feature text, compared bigint, not_identical bigint,
	                   max_rel_err float8, max_golden_err float8);
	-- since: 00:07 UTC of each symbol's last six days with data there, so
	-- that the day-start rule adds only 7 buckets: the warm-up is measured
	DO $$
	DECLARE
		s record;
		w int;
	BEGIN
		FOR s IN SELECT r.symbol, r.bucket FROM (
		             SELECT symbol, bucket, row_number() OVER (PARTITION BY symbol ORDER BY bucket DESC) AS back
		             FROM online_cmp.full_rows
		             WHERE bucket - date_bin('1 day', bucket, TIMESTAMPTZ 'epoch') = interval '7 minutes') r
		         WHERE r.back <= 6 LOOP
			FOREACH w IN ARRAY ARRAY[100, 200, 300, 400, 500, 700, 1000] LOOP
				INSERT INTO warm SELECT s.symbol, w, x.* FROM online_cmp.warmup(s.symbol, '1 minute', s.bucket, w) x;
			END LOOP;
		END LOOP;
	END
	$$;
});
my $table = $node->safe_psql('postgres', q{
	SELECT string_agg(rpad(feature, 13) || cells, E'\n' ORDER BY feature)
	FROM (SELECT feature, string_agg(lpad(warmup::text, 5) || ':' || to_char(max_rel, '9.9EEEE') || '/'
	                                 || rpad(nid::text, 5), ' ' ORDER BY warmup) AS cells
	      FROM (SELECT feature, warmup, max(max_rel_err) AS max_rel, sum(not_identical) AS nid
	            FROM warm GROUP BY 1, 2) a GROUP BY 1) b});
note("features(since) vs full history, both symbols: warm-up: max relative difference / values not bit-identical\n$table");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM warm WHERE warmup = 1000 AND feature IN ('rsi_14', 'macd_hist', 'atr_pct', 'adx_14')
	AND max_rel_err > 1e-9}), '0', 'G: warm-up 1000: rsi, macd, atr, adx equal the full history to 1e-9 relative');
is($node->safe_psql('postgres', q{
	SELECT coalesce(sum(not_identical), -1) FROM warm WHERE warmup = 1000}), '0',
	'G: warm-up 1000: every feature of every row equals the full history bit for bit');
ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM warm WHERE warmup = 100 AND feature IN ('rsi_14', 'macd_hist', 'atr_pct', 'adx_14')
	AND max_rel_err > 1e-9}) > 0, 'G: warm-up 100 is not enough (the check can fail)');
my $compared = $node->safe_psql('postgres', q{SELECT sum(compared) FROM warm WHERE warmup = 1000});
ok($compared > 100000, "G: $compared values compared at warm-up 1000");

$node->stop;
done_testing();
