# Hot standby and promotion (issue 18): a primary ingesting real captures from
# the local exchange (test/exchange/exchange_sim --replay) with a deployed
# model served online, and a streaming standby made from its base backup.
#  - on the standby no triggerstock process runs (the supervisor starts with
#    BgWorkerStart_RecoveryFinished), and predict(), predict_explain(),
#    features(), the indicators, the views and every Grafana panel query run
#    there (the standby refuses any write, so a write would be an error);
#  - while the primary ingests, predict_explain() on the standby scores a
#    bucket with the probability the primary gives predict(symbol, features)
#    for that bucket's feature row;
#  - once replayed (wait_for_catchup) predict(), predict_explain(), every
#    feature row, indicator and candle and every panel query that reads
#    tables answer the same on both;
#  - the primary stops mid-stream, the standby is promoted: its supervisor,
#    launcher, ingest and predictor workers start, trades keep arriving up to
#    exactly the capture's distinct trades (count = count(DISTINCT key)),
#    and every candle equals ohlcv() over its stored trades.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $ws = "$shared/data/websocket/binance";
my $eth_file = "$ws/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my $btc_file = "$ws/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl";

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
max_worker_processes = 16
triggerstock.ingest_max_past = -1
triggerstock.allowed_hosts = '127.0.0.1'
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
$primary->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
	'-d', $primary->connstr('postgres'), '-f', "$repo/test/sql/load_candles.sql"], 'real candles loaded');
$primary->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
	'-d', $primary->connstr('postgres'), '-f', "$repo/grafana/grafana.sql"], 'Grafana helpers loaded');
my $model = $primary->safe_psql('postgres', q{SELECT train('ETH')});
like($model, qr/^\d+$/, "train('ETH') deployed model $model");
is($primary->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.feature_state WHERE symbol = 'ETH'}),
	'1', 'ETH features served online');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby in recovery');

# --- 1. the standby serves while the primary ingests --------------------------
my $eth = expected_trades('binance', $eth_file);
my $btc = expected_trades('binance', $btc_file);
my $x = start_exchange(exchange => 'binance', replay => $eth_file, rate => 1500);
$primary->safe_psql('postgres',
	"SELECT add_source('eth', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['ETHUSDT'])");
my $cols = $primary->safe_psql('postgres', qq{
	SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
	FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $model});
my ($live, $live_ok, %buckets) = (0, 0);
for my $i (1 .. 40)
{
	my $e = $standby->safe_psql('postgres', q{
		SELECT (j->>'bucket') || '|' || (j->>'probability') || '|' || (j->>'fallback_level')
		FROM predict_explain('ETH') j});
	my ($b, $p, $level) = split /\|/, $e;
	next unless defined $level && $level eq 'model';
	$buckets{$b} = 1;
	$live++;
	# the primary's features() row of the same bucket, through the same model
	my $q = $primary->safe_psql('postgres', qq{
		SELECT predict('ETH', ARRAY[$cols]::float8[]) FROM features('ETH')
		WHERE bucket = '$b'});
	$live_ok++ if $q ne '' && $q == $p;
	diag("standby $b: $p, primary $q") if $q eq '' || $q != $p;
	last if $primary->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades") >= 11000 && $live >= 5;
	select(undef, undef, undef, 0.3);
}
ok($live >= 5, "$live predict_explain() calls on the standby during ingestion (" . scalar(keys %buckets)
	. ' buckets)');
is($live_ok, $live, 'each equals the primary\'s predict() of the same bucket\'s feature row');

my $eth_total = 0;
$eth_total += $_->{n} for values %$eth;
is(wait_for_trades($primary, "symbol = 'ETH'", $eth_total, 60), $eth_total, "primary stored $eth_total ETH trades");
stop_exchange($x);
$primary->safe_psql('postgres', 'UPDATE triggerstock.sources SET enabled = false');
$primary->wait_for_catchup($standby);

# --- 2. once replayed, the same answers ---------------------------------------
my %same = (
	'predict()' => q{SELECT predict('ETH'), predict('BTC')},
	'predict_explain()' => q{SELECT predict_explain('ETH')},
	'features(), every row' => q{SELECT md5(string_agg(f::text, ',' ORDER BY bucket)), count(*) FROM features('ETH') f},
	'features(since)' => q{SELECT md5(string_agg(f::text, ',' ORDER BY bucket)) FROM features('ETH', '5 minutes', '2024-08-08') f},
	'indicators' => q{SELECT md5(string_agg(x::text, ',' ORDER BY bucket)) FROM (
		SELECT bucket, rsi(close, 14) OVER w, macd(close) OVER w, bbands(close, 20) OVER w,
		       atr(high, low, close, 14) OVER w, vwap(close, volume, 20) OVER w
		FROM triggerstock.candles WHERE symbol = 'ETH'
		WINDOW w AS (PARTITION BY symbol ORDER BY bucket)) x},
	'candles' => q{SELECT md5(string_agg(c::text, ',' ORDER BY symbol, bucket)) FROM triggerstock.candles c},
	'candles(5 minutes)' => q{SELECT md5(string_agg(c::text, ',')) FROM candles('5 minutes') c WHERE symbol = 'ETH'},
	'online feature rows' => q{SELECT md5(string_agg(r::text, ',' ORDER BY bucket)) FROM triggerstock.feature_rows r},
	'deployed, latest_predictions, model_live_metrics' => q{
		SELECT (SELECT md5(string_agg(d::text, ',')) FROM triggerstock.deployed d),
		       (SELECT md5(string_agg(p::text, ',' ORDER BY symbol)) FROM triggerstock.latest_predictions p),
		       (SELECT md5(string_agg(m::text, ',')) FROM triggerstock.model_live_metrics m)},
);
for my $what (sort keys %same)
{
	my $p = $primary->safe_psql('postgres', $same{$what});
	my ($rc, $s, $err) = $standby->psql('postgres', $same{$what});
	is($rc, 0, "standby: $what runs") or diag($err);
	is($s, $p, "standby: $what equals the primary's");
}
like($standby->safe_psql('postgres', q{SELECT predict_explain('ETH')->>'fallback_level'}), qr/^model$/,
	'standby: the deployed model scores');
# status views run on the standby too (worker memory: nothing runs there)
for my $v ('triggerstock.ingest_status', 'triggerstock.worker_plan', 'worker_status()')
{
	my ($rc, $out, $err) = $standby->psql('postgres', "SELECT count(*) FROM $v");
	is($rc, 0, "standby: $v runs") or diag($err);
}
# every Grafana panel query, read-only, at the same end time on both
my $now = $primary->safe_psql('postgres', q{SELECT max(bucket) + interval '1 minute' FROM triggerstock.candles WHERE symbol = 'ETH'});
my %panels;
for my $n ([ 'primary', $primary ], [ 'standby', $standby ])
{
	my ($out, $err) = ('', '');
	IPC::Run::run(['/usr/bin/python3', "$repo/test/python/dashboard_queries.py",
		'--dsn', $n->[1]->connstr('postgres'), '--now', $now, '--ranges', '1h,24h', '--var', 'symbol=ETH'],
		'>', \$out, '2>', \$err) or diag($err);
	$panels{ $n->[0] } = { map { my @f = split /\t/; ($f[0] => "$f[1] $f[2]") } split /\n/, $out };
}
my @labels = sort keys %{ $panels{standby} };
ok(@labels >= 30, scalar(@labels) . ' dashboard queries run on the standby');
my @errors = grep { $panels{standby}{$_} =~ /^ERROR/ } @labels;
is(scalar(@errors), 0, 'no dashboard query fails on the standby') or diag(join("\n", map { "$_: $panels{standby}{$_}" } @errors));
# panels of worker memory (ingest_status, worker_status()) differ: nothing runs on a standby
my @differ = grep { $_ !~ /^ingestion\.json/ && ($panels{primary}{$_} // '') ne $panels{standby}{$_} } @labels;
is(scalar(@differ), 0, 'every other panel answers as on the primary') or diag(join("\n", map {
	"$_: primary $panels{primary}{$_}, standby $panels{standby}{$_}" } @differ));
my $nonempty = grep { $panels{standby}{$_} =~ /^[1-9]/ } @labels;
ok($nonempty >= 10, "$nonempty of them return rows");

# nothing of triggerstock runs on the standby, and nothing was written there
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'triggerstock%'}), '0',
	'standby: no triggerstock worker runs (supervisor: BgWorkerStart_RecoveryFinished)');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM worker_status()'), '0', 'standby: worker_status() is empty');

# --- 3. failover mid-stream ---------------------------------------------------
$x = start_exchange(exchange => 'binance', replay => $btc_file, rate => 2500, overlap => 20000);
$primary->safe_psql('postgres',
	"SELECT add_source('btc', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
ok($primary->poll_query_until('postgres', q{SELECT count(*) > 3000 FROM triggerstock.trades WHERE symbol = 'BTC'}),
	'primary: BTC streaming');
$primary->wait_for_catchup($standby);
my $before = $standby->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.trades WHERE symbol = 'BTC'});
$primary->stop('fast');
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'standby promoted');
ok($standby->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM worker_status() WHERE kind IN ('ingest', 'predictor') AND pid IS NOT NULL}),
	'promoted: the launcher started the ingest and predictor workers');
ok($standby->poll_query_until('postgres', qq{
	SELECT count(*) > $before FROM triggerstock.trades WHERE symbol = 'BTC'}),
	"promoted: trades keep arriving (more than the $before replicated)");
my $btc_total = 0;
$btc_total += $_->{n} for values %$btc;
is(wait_for_trades($standby, "symbol = 'BTC'", $btc_total, 90), $btc_total,
	"promoted: all $btc_total BTC trades of the capture, none lost");
is($standby->safe_psql('postgres', q{
	SELECT count(*) - count(DISTINCT (exchange, instrument, trade_id, ts)) FROM triggerstock.trades}), '0',
	'promoted: no trade stored twice');
compare_trades($standby, 'binance', { %$eth, %$btc }, 'promoted');
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.candles k
	JOIN (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
	             ohlcv(ts, price, qty, trade_id) AS c
	      FROM triggerstock.trades GROUP BY 1, 2) r USING (symbol, bucket)
	WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time,
	          k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv IS DISTINCT FROM r.c}), '0',
	'promoted: every candle equals ohlcv() over its trades');
is($standby->safe_psql('postgres', q{
	SELECT sum(trades) FROM triggerstock.candles WHERE symbol = 'BTC'}), $btc_total,
	'promoted: the BTC candles count every trade once');
stop_exchange($x);
$standby->stop;

done_testing();
