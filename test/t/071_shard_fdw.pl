# Symbols sharded over data nodes with postgres_fdw (issue 18): three
# clusters on 127.0.0.1, a coordinator and two data nodes.  The real Binance
# captures (BTC 15,923 trades, ETH 11,612) and the real 1-minute candle
# histories are split by symbol (BTC on node1, ETH on node2); the
# coordinator also holds all of it in its own tables, as the single server
# the sharded layout is compared with.  shard_symbol() gives cluster_trades,
# cluster_candles and cluster_predictions their foreign partitions; through
# the coordinator:
#  - every trade, every stored candle (every column), 1-minute candles from
#    the trades with ohlcv(), 5-minute and 1-hour candles with rollup(), and
#    indicator rows per symbol equal the single server's;
#  - the aggregates run on the data nodes (EXPLAIN VERBOSE: the Remote SQL
#    holds public.ohlcv(...) and public.rollup(public.ohlcv_row(...)));
#  - predict() of a symbol runs on the node that holds it (the same model on
#    both sides) and equals the single server's;
#  - shard_symbol() refuses a symbol already on another server and an
#    unknown server.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $ws = "$shared/data/websocket/binance";
my %capture = (BTC => "$ws/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl",
	ETH => "$ws/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl");

sub new_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
	return $node;
}

# load(node, symbols...): the captures' trades (received_at = ts, so every
# column is the same everywhere), their candles, and the real candle history
sub load
{
	my ($node, @symbols) = @_;
	$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
		'-d', $node->connstr('postgres'), '-f', "$repo/test/sql/load_candles.sql"], $node->name . ': candles loaded');
	my $keep = join(',', map { "'$_'" } @symbols);
	$node->safe_psql('postgres', qq{
		DELETE FROM triggerstock.candles WHERE symbol NOT IN ($keep);
		CREATE TEMP TABLE frames (line text);
		CREATE TEMP TABLE raw (symbol text, d jsonb);
		} . join('', map { qq{
		TRUNCATE frames;
		COPY frames FROM '$capture{$_}' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02');
		INSERT INTO raw SELECT '$_', line::jsonb -> 'data' FROM frames;} } @symbols) . q{
		INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side, received_at)
		SELECT 'binance', d->>'s', symbol, (d->>'t')::bigint,
		       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond',
		       (d->>'p')::float8, (d->>'q')::float8,
		       CASE WHEN (d->>'m')::boolean THEN 'sell' ELSE 'buy' END,
		       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond'
		FROM raw;
		SELECT refresh_candles('-infinity');
		ANALYZE triggerstock.trades, triggerstock.candles;});
}

my $coord = new_node('coordinator');
my $node1 = new_node('node1');
my $node2 = new_node('node2');
load($node1, 'BTC');
load($node2, 'ETH');
load($coord, 'BTC', 'ETH');
is($coord->safe_psql('postgres', q{SELECT string_agg(symbol || ' ' || n, ', ' ORDER BY symbol)
	FROM (SELECT symbol, count(*) n FROM triggerstock.trades GROUP BY 1) x}), 'BTC 15923, ETH 11612',
	'single server: all trades of both captures');

# a model trained on node2, copied to the single server with its bytes
my $model = $node2->safe_psql('postgres', q{SELECT train('ETH')});
like($model, qr/^\d+$/, "node2: train('ETH') deployed model $model");

# --- the coordinator ----------------------------------------------------------
$coord->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw');
for my $n ([ 'node1', $node1 ], [ 'node2', $node2 ])
{
	my $port = $n->[1]->port;
	$coord->safe_psql('postgres', qq{
		CREATE SERVER $n->[0] FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres',
			         extensions 'triggerstock', fetch_size '10000');
		CREATE USER MAPPING FOR CURRENT_USER SERVER $n->[0] OPTIONS (user 'postgres');});
}
is($coord->safe_psql('postgres', q{SELECT shard_symbol('BTC', 'node1')}), '1', 'BTC on node1');
is($coord->safe_psql('postgres', q{SELECT shard_symbol('ETH', 'node2')}), '1', 'ETH on node2');
is($coord->safe_psql('postgres', q{SELECT shard_symbol('ETH', 'node2')}), '1', 'shard_symbol() again: nothing changes');
my ($rc, $out, $err) = $coord->psql('postgres', q{SELECT shard_symbol('ETH', 'node1')});
like($err, qr/symbol "ETH" is already on server "node2"/, 'a symbol lives on one server');
($rc, $out, $err) = $coord->psql('postgres', q{SELECT shard_symbol('SOL', 'nowhere')});
like($err, qr/server "nowhere" is not a postgres_fdw server/, 'an unknown server is refused');
is($coord->safe_psql('postgres', q{
	SELECT string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), '; ' ORDER BY c.relname)
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'triggerstock.cluster_candles'::regclass}),
	q{cluster_candles_node1 FOR VALUES IN ('BTC'); cluster_candles_node2 FOR VALUES IN ('ETH')},
	'cluster_candles: one foreign partition per node');

# --- every row through the coordinator equals the single server's -----------
# differ(sharded query, local query): rows in one and not the other
sub differ
{
	my ($q_cluster, $q_local) = @_;
	return $coord->safe_psql('postgres', qq{
		SET enable_partitionwise_aggregate = on;
		SELECT (SELECT count(*) FROM (($q_cluster) EXCEPT ALL ($q_local)) a) || ' '
		    || (SELECT count(*) FROM (($q_local) EXCEPT ALL ($q_cluster)) b) || ' '
		    || (SELECT count(*) FROM ($q_local) c)});
}
# both(query, sharded table, local table): the query over each (%REL%)
sub both
{
	my ($q, $c, $l) = @_;
	return [ map { my $t = $_; (my $x = $q) =~ s/%REL%/$t/g; $x } $c, $l ];
}
my $cols_k = 'k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time, k.open_seq, k.close_seq, k.sums';
my %cases = (
	'trades, every column' => [ 'SELECT * FROM triggerstock.cluster_trades', 'SELECT * FROM triggerstock.trades' ],
	'stored candles, every column' => [ 'SELECT * FROM triggerstock.cluster_candles', 'SELECT * FROM triggerstock.candles' ],
	'1-minute candles from the trades (ohlcv)' => both(qq{
		SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket, ohlcv(ts, price, qty, trade_id)::text AS c
		FROM triggerstock.%REL% GROUP BY 1, 2}, 'cluster_trades', 'trades'),
	'5-minute candles (rollup)' => both(qq{
		SELECT symbol, date_bin('5 minutes', bucket, TIMESTAMPTZ 'epoch') AS b, rollup(ohlcv_row($cols_k))::text
		FROM triggerstock.%REL% k GROUP BY 1, 2}, 'cluster_candles', 'candles'),
	'1-hour candles (rollup)' => both(qq{
		SELECT symbol, date_bin('1 hour', bucket, TIMESTAMPTZ 'epoch') AS b, rollup(ohlcv_row($cols_k))::text
		FROM triggerstock.%REL% k GROUP BY 1, 2}, 'cluster_candles', 'candles'),
	'indicators per symbol' => both(qq{
		SELECT symbol, bucket, sma(close, 20) OVER w, ema(close, 12) OVER w, rsi(close, 14) OVER w,
		       (macd(close) OVER w)::text, (bbands(close, 20) OVER w)::text, atr(high, low, close, 14) OVER w,
		       obv(close, volume) OVER w, (stoch(high, low, close) OVER w)::text, cci(high, low, close, 20) OVER w,
		       mfi(high, low, close, volume, 14) OVER w, adx(high, low, close, 14) OVER w, vwap(close, volume, 20) OVER w
		FROM triggerstock.%REL% WINDOW w AS (PARTITION BY symbol ORDER BY bucket)}, 'cluster_candles', 'candles'),
);
for my $what (sort keys %cases)
{
	my ($a, $b, $n) = split / /, differ(@{ $cases{$what} });
	ok($n > 0, "$what: $n rows on the single server");
	is("$a $b", '0 0', "$what: through the coordinator, equal to the single server");
}

# --- where the work runs --------------------------------------------------------
my $plan = $coord->safe_psql('postgres', q{
	SET enable_partitionwise_aggregate = on;
	EXPLAIN (VERBOSE, COSTS OFF)
	SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch'), ohlcv(ts, price, qty, trade_id)
	FROM triggerstock.cluster_trades GROUP BY 1, 2});
note($plan);
my @remote = $plan =~ /Remote SQL: (.*)/g;
is(scalar(grep { /public\.ohlcv\(ts, price, qty, trade_id\).*GROUP BY/ } @remote), 2,
	'1-minute candles: ohlcv() runs on both data nodes (EXPLAIN VERBOSE Remote SQL)');
unlike($plan, qr/HashAggregate|GroupAggregate|^\s*(->\s+)?Aggregate$/m, 'no aggregation left on the coordinator');
$plan = $coord->safe_psql('postgres', qq{
	SET enable_partitionwise_aggregate = on;
	EXPLAIN (VERBOSE, COSTS OFF)
	SELECT symbol, date_bin('1 hour', bucket, TIMESTAMPTZ 'epoch'), rollup(ohlcv_row($cols_k))
	FROM triggerstock.cluster_candles k WHERE symbol = 'ETH' GROUP BY 1, 2});
note($plan);
like($plan, qr/Remote SQL: .*public\.rollup\(public\.ohlcv_row\(.*WHERE \(\(symbol = 'ETH'(::text)?\)\)/,
	'rollup(ohlcv_row(...)) of one symbol runs on its node only');
unlike($plan, qr/node1/, 'node1 is not asked for ETH');
unlike($plan, qr/HashAggregate|GroupAggregate|^\s*(->\s+)?Aggregate$/m, 'no aggregation left on the coordinator');
$plan = $coord->safe_psql('postgres', q{
	EXPLAIN (VERBOSE, COSTS OFF)
	SELECT rollup(ROW(open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)::ohlcv)
	FROM triggerstock.cluster_candles WHERE symbol = 'ETH'});
like($plan, qr/Aggregate/, 'ROW(...)::ohlcv instead: the aggregate stays on the coordinator (why ohlcv_row exists)');

# --- predict() routed to the symbol's node -------------------------------------
# copy the model row column by column through a foreign table of the same shape
my $mcols = $coord->safe_psql('postgres', q{
	SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
	FROM pg_attribute WHERE attrelid = 'triggerstock.models'::regclass AND attnum > 0 AND NOT attisdropped});
my $mnames = $coord->safe_psql('postgres', q{
	SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
	FROM pg_attribute WHERE attrelid = 'triggerstock.models'::regclass AND attnum > 0 AND NOT attisdropped});
$coord->safe_psql('postgres', qq{
	CREATE FOREIGN TABLE node2_models ($mcols) SERVER node2 OPTIONS (schema_name 'triggerstock', table_name 'models');
	INSERT INTO triggerstock.models ($mnames) SELECT $mnames FROM node2_models;
	SELECT deploy(${model}::bigint);});
is($coord->safe_psql('postgres', q{SELECT sha256 FROM triggerstock.deployed WHERE symbol = 'ETH'}),
	$node2->safe_psql('postgres', q{SELECT sha256 FROM triggerstock.deployed WHERE symbol = 'ETH'}),
	'single server: the same ETH model');
my $routed = $coord->safe_psql('postgres', q{SELECT probability, explain FROM triggerstock.cluster_predictions WHERE symbol = 'ETH'});
my $local = $coord->safe_psql('postgres', q{SELECT predict('ETH'), predict_explain('ETH')});
like($routed, qr/^0\.\d+\|.*"fallback_level": "model"/, "routed predict('ETH'): $routed" =~ s/\|.*//r);
is($routed, $local, "predict('ETH') and predict_explain('ETH') through the coordinator equal the single server's");
$plan = $coord->safe_psql('postgres', q{
	EXPLAIN (VERBOSE, COSTS OFF) SELECT probability FROM triggerstock.cluster_predictions WHERE symbol = 'ETH'});
like($plan, qr/Foreign Scan on triggerstock\.cluster_predictions_node2.*Remote SQL: SELECT probability FROM triggerstock\.predictions_now WHERE \(\(symbol = 'ETH'(::text)?\)\)/s,
	'predict(ETH) is asked of node2 only');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.cluster_predictions}), '1',
	'cluster_predictions: one row per deployed symbol of every node');

done_testing();
