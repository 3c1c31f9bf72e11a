# Automatic gap repair: the local exchange replays the real Binance BTCUSDT
# trade capture (ids consecutive) and drops the connection 3 times with NO
# overlap, skipping 700 trades each time (--gap); the table already holds
# the capture's first 1,000 trades and the replay starts at its 1,501st, so
# the worker also meets a gap against what was stored before it started.
# The ingest worker notices each jump in ids and queues a backfill of
# exactly the missing ids, which the poll worker fetches from the local REST
# exchange (historicalTrades from the same capture).  After repair the
# stored trades equal the capture (every field, none missing, none
# duplicated), every candle equals the capture's own aggregation, and
# ingest_status shows the gaps repaired.
use strict;
use warnings;
use JSON::PP;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;
use BackfillTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture = "$shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my @lines = grep { length } split /\n/, slurp_file($capture);
my @cap = map { decode_json($_)->{data} } @lines;
is(scalar(@cap), 15923, 'the capture holds 15,923 trades');

my $state = PostgreSQL::Test::Utils::tempdir();
my $url = start_backfill_server($state);
my $node = ingest_node('gaps');

# the first 1,000 trades are stored already; the replay starts at the 1,501st
$node->safe_psql('postgres', 'INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side) VALUES '
	  . join(',', map { sprintf("('binance', 'BTCUSDT', 'BTC', %d, to_timestamp(%d / 1000.0), %s, %s, '%s')",
			$_->{t}, $_->{T}, $_->{p}, $_->{q}, $_->{m} ? 'sell' : 'buy') } @cap[0 .. 999])
	  . "; SELECT refresh_candles('-infinity')");
my $replay = "$state/replay.jsonl";
open(my $f, '>', $replay) or die;
print $f "$_\n" for @lines[1500 .. $#lines];
close $f;

my $x = start_exchange(exchange => 'binance', replay => $replay, 'drop-every' => 4000, gap => 700);
my $id = $node->safe_psql('postgres', qq{
	SELECT add_source('gaps', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'],
	                  options => '{"rest_url": "$url", "backfill": {"min_interval_ms": 0}}')});
is(wait_for_trades($node, 'true', 15923, 40), 15923, 'every trade of the capture is stored');
my $stats = stop_exchange($x);
is("$stats->{drops} $stats->{skipped}", '3 2100', 'the exchange dropped 3 times and never sent 2,100 trades');

my $gaps = $node->safe_psql('postgres', q{
	SELECT string_agg(g.first_id || '-' || g.last_id || ':' || b.state || ':' || b.rows, ' ' ORDER BY g.first_id)
	FROM triggerstock.gaps g JOIN triggerstock.backfills b ON b.id = g.backfill});
my @want = map { "$cap[$_->[0]]{t}-$cap[$_->[1]]{t}:done:" . ($_->[1] - $_->[0] + 1) }
  ([ 1000, 1499 ], [ 5500, 6199 ], [ 10200, 10899 ], [ 14900, 15599 ]);
is($gaps, join(' ', @want), 'four gaps, each exactly the missing ids, each repaired by its own job');
is($node->safe_psql('postgres', qq{
	SELECT open_gaps || ' ' || repaired_gaps || ' ' || failed_gaps FROM triggerstock.ingest_status WHERE source = $id}),
	'0 4 0', 'ingest_status: no open gap, four repaired');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT endpoint || ' ' || source, ',') FROM triggerstock.backfills}),
	"binance_trades $id", 'the repairs used historicalTrades (trade ids, as the trade feed)');

is_deeply(db_trades($node, 'true'),
	[ map { join '|', $_->{t}, $_->{T} * 1000, $_->{p} + 0, $_->{q} + 0, $_->{m} ? 'sell' : 'buy' } @cap ],
	'the stored trades equal the capture: every field, none missing, none duplicated');
compare_candles($node, 'BTC',
	expected_candles([ map { [ $_->{t}, $_->{T} * 1000, $_->{p}, $_->{q} ] } @cap ]),
	'after repair');

$node->stop;
done_testing();
