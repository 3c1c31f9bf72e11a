# Ingestion under faults, against the local exchange replaying the real
# Binance BTCUSDT capture (15,923 trades):
#  - the server drops the connection 5 times mid-stream and resumes with an
#    overlap: no trade lost, none duplicated;
#  - malformed frames (truncated JSON, wrong types, a 10 MB frame, binary
#    garbage, a valid frame for an unknown instrument, a quantity beyond what
#    a candle can sum) become dead letters
#    and the worker stays up;
#  - pg_ctl stop -m immediate mid-stream: after the restart every trade
#    committed before the crash is there, and ingestion resumes by itself
#    until the capture is complete, without duplicates.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture = "$shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my $exp = expected_trades('binance', $capture);
my $total = $exp->{BTCUSDT}{n};
is($total, 15923, 'the capture holds 15,923 BTCUSDT trades');

my $node = ingest_node('ingest_faults');

sub reset_data
{
	$node->safe_psql('postgres', q{
		DELETE FROM triggerstock.sources;
		TRUNCATE triggerstock.trades, triggerstock.candles, triggerstock.dead_letters});
}

# --- 1. five drops, resumed with overlap ---------------------------------
my $x = start_exchange(exchange => 'binance', replay => $capture, 'drop-every' => 3000,
	overlap => 250);
my $id = $node->safe_psql('postgres',
	"SELECT add_source('drops', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
is(wait_for_trades($node, 'true', $total, 90), $total, 'drops: every trade stored once');
compare_trades($node, 'binance', $exp, 'drops');
my $stats = stop_exchange($x);
cmp_ok($stats->{drops}, '>=', 5, "drops: the server dropped the connection mid-stream ($stats->{drops} times)");
my ($reconnects, $dups) = split /\|/, $node->safe_psql('postgres',
	"SELECT reconnects, duplicates FROM triggerstock.ingest_status WHERE source = $id");
cmp_ok($reconnects, '>=', 5, "drops: the worker reconnected ($reconnects times)");
cmp_ok($dups, '>', 0, "drops: the overlap re-sent $dups trades, all skipped by the unique key");
reset_data();

# --- 2. malformed frames -------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir();
my $bad = "$dir/malformed.jsonl";
my $good1 = '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":1,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}}';
my $good2 = '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":2,"p":"61837.64","q":"0.03","T":1723161255342,"m":false,"M":true}}';
open(my $f, '>', $bad) or die;
print $f "$good1\n";
print $f substr($good1, 0, 60), "\n";                                   # truncated JSON
(my $wrong = $good1) =~ s/"p":"61837.63"/"p":true/;
print $f "$wrong\n";                                                    # wrong type
print $f '{"stream":"btcusdt@trade","data":{"e":"trade","pad":"', 'x' x (10 * 1024 * 1024), "\"}}\n";   # 10 MB
print $f join('', map { chr((($_ * 37) % 254) + 1) } 0 .. 4095) =~ s/[\n\r]/?/gr, "\n";   # binary garbage
(my $unknown = $good1) =~ s/"s":"BTCUSDT"/"s":"XRPUSDT"/;
print $f "$unknown\n";                                                  # unknown instrument
(my $huge = $good1) =~ s/"q":"0.02"/"q":"100000000000000000000000000000000"/;
print $f "$huge\n";                                                     # beyond a candle's sums
print $f "$good2\n";
close $f;
$x = start_exchange(exchange => 'binance', replay => $bad);
$id = $node->safe_psql('postgres',
	"SELECT add_source('malformed', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 6 FROM triggerstock.dead_letters WHERE source = $id"), 'malformed: 6 dead letters');
is(wait_for_trades($node, 'true', 2, 30), 2, 'malformed: the two valid trades around them are stored');
my $errors = $node->safe_psql('postgres', qq{
	SELECT string_agg(format('%s bytes (%s kept): %s', payload_bytes, length(payload), error), E'\n' ORDER BY id)
	FROM triggerstock.dead_letters WHERE source = $id});
note($errors);
like($errors, qr/exceeds triggerstock.ingest_max_frame_bytes/, 'malformed: the 10 MB frame is refused');
like($errors, qr/^10485\d+ bytes \(8192 kept\)/m, 'malformed: its payload is capped at dead_letter_max_bytes');
like($errors, qr/instrument "XRPUSDT" is not configured/, 'malformed: unknown instrument named');
like($errors, qr/"p"/, 'malformed: the wrong type is named');
like($errors, qr/quantity 1e\+32 or price times quantity beyond 2\^96/, 'malformed: a quantity no candle can sum is refused');
my $pid = $node->safe_psql('postgres', "SELECT pid FROM triggerstock.ingest_status WHERE source = $id");
my $starts = $node->safe_psql('postgres', "SELECT starts FROM worker_status() WHERE id = $id");
is($starts, '1', 'malformed: the worker never restarted');
ok($pid ne '' && $node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq '1',
	'malformed: the worker is still running');
stop_exchange($x);
reset_data();

# --- 3. immediate stop mid-stream ------------------------------------------
$x = start_exchange(exchange => 'binance', replay => $capture, rate => 3000, overlap => 12000);
$id = $node->safe_psql('postgres',
	"SELECT add_source('crash', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
ok($node->poll_query_until('postgres', 'SELECT count(*) > 2000 FROM triggerstock.trades'),
	'crash: streaming');
$node->safe_psql('postgres', 'CREATE TABLE committed AS SELECT trade_id, ts, qty FROM triggerstock.trades');
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM committed');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM committed c
	WHERE NOT EXISTS (SELECT 1 FROM triggerstock.trades t
	                  WHERE t.trade_id = c.trade_id AND t.ts = c.ts AND t.qty = c.qty)}),
	'0', "crash: all $before trades committed before the crash survived");
is(wait_for_trades($node, 'true', $total, 90), $total, 'crash: ingestion resumed by itself to the end');
compare_trades($node, 'binance', $exp, 'crash');
is($node->safe_psql('postgres', 'SELECT sum(trades) FROM triggerstock.candles'), $total,
	'crash: candles count every trade exactly once');
stop_exchange($x);

done_testing();
