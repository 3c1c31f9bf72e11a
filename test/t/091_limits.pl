# Configuration and network input cannot crash or flood the server
# (issue 12, items 2, 5 and 6):
#  - a subscribe message over 64 KiB is refused where the configuration
#    enters (add_source and UPDATE name the limit); one that got into the
#    table anyway (trigger disabled by a superuser) is refused by the worker
#    with the same limit, and neither 70 KB nor 20 MB crash it (it used to
#    overrun a stack buffer and restart the cluster every few seconds);
#  - trades more than triggerstock.ingest_max_past before (or
#    ingest_max_future after) their arrival are dead letters naming the
#    window, and create no partition (a 2024 capture replayed live);
#  - dead letters are capped at triggerstock.dead_letters_per_minute per
#    source and minute, the rest counted in ingest_status.dead_letters_dropped;
#    dead_letters_retention() deletes old ones.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture = "$shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my $total = 15923;

my $node = PostgreSQL::Test::Cluster->new('limits');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.allowed_hosts = '127.0.0.1'
triggerstock.dead_letters_per_minute = 600
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $map = q{"map": {"items": "data", "instrument": "s", "price": "p", "qty": "q", "ts": "T", "trade_id": "t"}};

# --- 1. the subscribe message --------------------------------------------------
my ($rc, $out, $err) = $node->psql('postgres', qq{
	SELECT add_source('big-sub', 'generic', 'ws://127.0.0.1:1', ARRAY['BTCUSDT'],
	                  options => jsonb_build_object('subscribe', repeat('x', 70000)) || '{$map}')});
like($err, qr/ERROR:  subscribe message of 70000 bytes exceeds the limit of 65536 bytes/,
	'add_source refuses a 70 KB subscribe message, naming the limit');
my $ok = $node->safe_psql('postgres', qq{
	SELECT add_source('sub', 'generic', 'ws://127.0.0.1:1', ARRAY['BTCUSDT'],
	                  options => '{"subscribe": "{}", $map}', enabled => false)});
($rc, $out, $err) = $node->psql('postgres', qq{
	UPDATE triggerstock.sources SET options = options || jsonb_build_object('subscribe', repeat('y', 65537))
	WHERE id = $ok});
like($err, qr/subscribe message of 65537 bytes exceeds the limit of 65536 bytes/,
	'UPDATE refuses a subscribe message one byte over the limit');
($rc, $out, $err) = $node->psql('postgres', qq{
	UPDATE triggerstock.sources SET options = options || jsonb_build_object('subscribe', repeat('y', 65536))
	WHERE id = $ok});
is($rc, 0, 'a subscribe message of exactly 64 KiB is accepted');
($rc, $out, $err) = $node->psql('postgres', qq{
	SELECT add_source('long-inst', 'binance', 'ws://127.0.0.1:1', ARRAY[repeat('B', 64)], ARRAY['LONGINST'])});
like($err, qr/instrument or symbol "B{64}" is empty, longer than 63 bytes/, 'a 64-byte instrument is refused');
($rc, $out, $err) = $node->psql('postgres', qq{
	SELECT add_source('long-host', 'binance', 'ws://' || repeat('h', 300) || ':1', ARRAY['BTCUSDT'],
	                  ARRAY['LONGHOST'])});
like($err, qr/host name of the source URL exceeds the limit of 255 bytes/, 'a 300-byte host name is refused');

# a superuser bypasses the check: the worker refuses, and stays up
my $x = start_exchange(exchange => 'binance', replay => $capture, hold => undef);
$node->safe_psql('postgres', 'ALTER TABLE triggerstock.sources DISABLE TRIGGER sources_check');
my %bypass;
for my $size (70_000, 20 * 1024 * 1024)
{
	$bypass{$size} = $node->safe_psql('postgres', qq{
		INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, options)
		VALUES ('bypass-$size', 'generic', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'], ARRAY['BTC'],
		        jsonb_build_object('subscribe', repeat('z', $size)) || '{$map}')
		RETURNING id});
}
$node->safe_psql('postgres', 'ALTER TABLE triggerstock.sources ENABLE TRIGGER sources_check');
for my $size (sort { $a <=> $b } keys %bypass)
{
	ok($node->wait_for_log(qr/source $bypass{$size}: the subscribe message is $size bytes, more than the limit of 65536/),
		"worker: a $size-byte subscribe message is refused with the limit");
}
sleep(2);
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
	'no crash: the cluster never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated|server process .* exited with exit code [^0]/,
	'no process died');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(state, ',' ORDER BY source) FROM triggerstock.ingest_status
	WHERE source IN ($bypass{70000}, $bypass{20971520}) AND pid IS NOT NULL}), 'backoff,backoff',
	'both workers are alive, backing off');
$node->safe_psql('postgres', 'DELETE FROM triggerstock.sources');
stop_exchange($x);

# --- 2. trades outside the time window; 3. the dead letter cap -------------------
$x = start_exchange(exchange => 'binance', replay => $capture);
my $id = $node->safe_psql('postgres',
	"SELECT add_source('old', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
ok($node->poll_query_until('postgres',
	"SELECT frames >= $total AND dead_letters + dead_letters_dropped >= $total FROM triggerstock.ingest_status WHERE source = $id"),
	'the whole 2024 capture arrived');
my ($frames, $trades, $dl, $dropped) = split /\|/, $node->safe_psql('postgres',
	"SELECT frames, trades, dead_letters, dead_letters_dropped FROM triggerstock.ingest_status WHERE source = $id");
note("frames $frames, trades $trades, dead letters $dl, not kept $dropped");
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.trades'), '0',
	'time window: no trade of 2024 was stored by a live source');
is($node->safe_psql('postgres', q{SELECT count(*) FROM trade_partitions() WHERE range_to < now() - interval '30 days'}),
	'0', 'time window: no partition was created for them');
like($node->safe_psql('postgres', "SELECT error FROM triggerstock.dead_letters WHERE source = $id LIMIT 1"),
	qr/^trade time 2024-08-0[89] .* is outside the window accepted from a live source \(triggerstock\.ingest_max_past 604800 s, ingest_max_future 86400 s/,
	'time window: the dead letter names the window');
my $stored = $node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.dead_letters WHERE source = $id");
cmp_ok($stored, '<=', 1200, "dead letter cap: $stored stored (600 per minute)");
is($stored + $dropped, $total, 'dead letter cap: stored + counted as dropped = every bad frame');
ok($node->log_contains(qr/source $id: bad frames are not kept \(more than triggerstock\.dead_letters_per_minute this minute\)/),
	'dead letter cap: logged once');
stop_exchange($x);

# the window is the cause: with ingest_max_past = -1 the same capture is stored
$node->safe_psql('postgres', q{ALTER SYSTEM SET triggerstock.ingest_max_past = -1; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('triggerstock.ingest_max_past') = '-1'});
$x = start_exchange(exchange => 'binance', replay => $capture);
$node->safe_psql('postgres', "DELETE FROM triggerstock.sources");
$id = $node->safe_psql('postgres',
	"SELECT add_source('history', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
is(wait_for_trades($node, 'true', $total, 60), $total, 'ingest_max_past = -1: the capture is stored');
stop_exchange($x);

# retention of dead letters
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.dead_letters (source, received_at, payload, payload_bytes, error)
	SELECT 0, now() - i * interval '1 day', '\x00', 1, 'old' FROM generate_series(1, 10) i});
is($node->safe_psql('postgres', q{SELECT dead_letters_retention('5 days 1 hour')}), '5',
	'dead_letters_retention() deletes what is older than keep');
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.dead_letters WHERE error = 'old'}), '5',
	'and keeps the rest');

$node->stop;
done_testing();
