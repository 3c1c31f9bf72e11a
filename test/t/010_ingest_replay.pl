# Ingestion of real captures, one source per exchange format, each streamed
# by the local exchange (test/exchange/exchange_sim --replay): afterwards
# triggerstock.trades holds exactly the distinct trades of the file (count and
# sum of quantity per instrument, from an independent parse in IngestTest),
# every field of every 1-minute candle equals ohlcv() over its stored
# trades, and ingest_status reports the stream.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $ws = "$shared/data/websocket";

# maintain() runs only at the launcher's start: the partitions of the
# captures' days can only come from the flush
my $node = ingest_node('ingest_replay', "triggerstock.maintenance_naptime = 86400\n");

# [sim --exchange, sources.exchange, options, capture]
my @cases = (
	[ 'binance', 'binance', '{}', "$ws/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl" ],
	[ 'coinbase', 'coinbase', '{}', "$ws/coinbase/exchange_wsfeed_matches_only_2021-04-17.jsonl" ],
	[ 'coinbase-advanced', 'coinbase', '{"feed": "coinbase_advanced"}',
		"$ws/coinbase/advanced_trade_market_trades_2026-08-09.jsonl" ],
	[ 'kraken', 'kraken', '{}', "$ws/kraken/spot_v1_trade_2021-04-17.jsonl" ],
	[ 'finnhub', 'finnhub', '{}', "$ws/finnhub/trade_frame_sample_2022-12-29.jsonl" ],
);

for my $case (@cases)
{
	my ($format, $exchange, $options, $file) = @$case;
	my $exp = expected_trades($format, $file);
	my @instruments = sort keys %$exp;
	my $total = 0;
	$total += $exp->{$_}{n} for @instruments;
	ok($total > 0, "$format: the capture has $total trades in " . scalar(@instruments) . ' instruments');

	# one source at a time (each capture's symbols are its own market's)
	$node->safe_psql('postgres', 'DELETE FROM triggerstock.sources');
	$node->safe_psql('postgres', 'TRUNCATE triggerstock.trades, triggerstock.candles');
	my $x = start_exchange(exchange => $format, replay => $file);
	my $list = join(',', map { "'$_'" } @instruments);
	# Coinbase captures quote one asset in several currencies (BAND-BTC,
	# BAND-GBP): one series each, named after the instrument; the others
	# take the default symbols
	my $symbols = $exchange eq 'coinbase' ? ", symbols => ARRAY[$list]" : '';
	my $id = $node->safe_psql('postgres', qq{
		SELECT add_source('$format', '$exchange', 'ws://127.0.0.1:$x->{port}', ARRAY[$list],
		                  options => '$options'$symbols)});
	my $got = wait_for_trades($node, "exchange = '$exchange'", $total, 60);
	is($got, $total, "$format: $total trades stored");
	compare_trades($node, $exchange, $exp, $format);
	is(misplaced_trades($node, 'true'), '0 0',
		"$format: every trade sits in its UTC day's partition, created by the flush");

	# live candles = candles recomputed from the stored trades, every field
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM triggerstock.candles k
		FULL JOIN (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
		                  ohlcv(ts, price, qty, trade_id) AS c
		           FROM triggerstock.trades GROUP BY 1, 2) r USING (symbol, bucket)
		WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time,
		          k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv IS DISTINCT FROM r.c}), '0',
		"$format: every field of every 1-minute candle equals ohlcv() over its stored trades");
	if ($format eq 'kraken')
	{
		is($node->safe_psql('postgres', q{SELECT array_to_string(symbols, ',') FROM triggerstock.sources WHERE name = 'kraken'}),
			'SC,XMR', 'kraken pairs map to their base asset');
	}

	my $status = $node->safe_psql('postgres', qq{
		SELECT state, frames > 0, trades, dead_letters, latency_p99_ms IS NOT NULL
		FROM triggerstock.ingest_status WHERE source = $id});
	like($status, qr/^(streaming|backoff)\|t\|$total\|0\|t$/, "$format: ingest_status: $status");
	is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.dead_letters WHERE source = $id"),
		'0', "$format: no dead letters");
	stop_exchange($x);
}

# symbols came from the default mapping (the last source is Finnhub's)
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT symbol, ',' ORDER BY symbol) FROM triggerstock.trades}),
	'AAPL,TSLA', 'finnhub symbols map to themselves');

done_testing();
