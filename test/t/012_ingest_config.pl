# Ingestion configuration at work:
#  - active hours: outside its days/hours a source's worker holds no
#    connection; a plain UPDATE of the hours reaches it within seconds
#    (relcache invalidation, no polling) and it streams, another UPDATE
#    sends it back outside;
#  - enabled = false stops the worker, true starts it again;
#  - wss:// against the local exchange with a throw-away CA given in
#    triggerstock.ingest_ca_file; without the CA the handshake fails and the
#    worker keeps retrying instead of exiting.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $capture = "$shared/data/websocket/binance/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl";
my $total = expected_trades('binance', $capture)->{ETHUSDT}{n};

# a CA and a server certificate for 127.0.0.1
my $certs = PostgreSQL::Test::Utils::tempdir();
my $ssl = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=triggerstock-test-ca "
  . "-keyout $certs/ca.key -out $certs/ca.pem 2>/dev/null"
  . " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout $certs/server.key "
  . "-out $certs/server.csr 2>/dev/null"
  . " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > $certs/ext.cnf"
  . " && openssl x509 -req -in $certs/server.csr -CA $certs/ca.pem -CAkey $certs/ca.key "
  . "-CAcreateserial -days 2 -extfile $certs/ext.cnf -out $certs/server.pem 2>/dev/null";
is(system($ssl), 0, 'made a throw-away CA and server certificate');

my $node = ingest_node('ingest_config', "triggerstock.ingest_ca_file = '$certs/ca.pem'\n");

sub status
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT state, connected_since IS NOT NULL FROM triggerstock.ingest_status WHERE source = $id");
}

# --- active hours ---------------------------------------------------------
my $x = start_exchange(exchange => 'binance', replay => $capture, rate => 2000);
my $today = $node->safe_psql('postgres', q{SELECT extract(isodow FROM now() AT TIME ZONE 'UTC')});
my $id = $node->safe_psql('postgres', qq{
	SELECT add_source('hours', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['ETHUSDT'],
	                  active_days => (SELECT array_agg(d) FROM generate_series(1, 7) d WHERE d <> $today))});
ok($node->poll_query_until('postgres',
	"SELECT state = 'outside-hours' FROM triggerstock.ingest_status WHERE source = $id"),
	'a source on other days is outside its hours');
sleep(2);
is(status($id), 'outside-hours|f', 'outside its hours: no connection');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.trades'), '0', 'outside its hours: no trades');

my $t0 = time();
$node->safe_psql('postgres', "UPDATE triggerstock.sources SET active_days = NULL WHERE id = $id");
ok($node->poll_query_until('postgres',
	"SELECT state = 'streaming' FROM triggerstock.ingest_status WHERE source = $id"),
	'UPDATE of the days: the worker connects');
cmp_ok(time() - $t0, '<=', 3, 'the change reached the worker within seconds');
ok($node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM triggerstock.trades'), 'trades flow');

# a window that excludes now (an hour long, starting in two hours)
$node->safe_psql('postgres', qq{
	UPDATE triggerstock.sources
	SET active_from = ((now() AT TIME ZONE 'UTC')::time + interval '2 hours'),
	    active_until = ((now() AT TIME ZONE 'UTC')::time + interval '3 hours')
	WHERE id = $id});
ok($node->poll_query_until('postgres',
	"SELECT state = 'outside-hours' AND connected_since IS NULL FROM triggerstock.ingest_status WHERE source = $id"),
	'UPDATE of the hours: the worker disconnects and idles');
my $stats = stop_exchange($x);
cmp_ok($stats->{connections}, '==', 1, 'the exchange saw exactly one connection (none outside the hours)');

# --- enable / disable -----------------------------------------------------
$node->safe_psql('postgres', "UPDATE triggerstock.sources SET enabled = false WHERE id = $id");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM worker_status() WHERE id = $id"),
	'enabled = false stops the worker');
$node->safe_psql('postgres', "UPDATE triggerstock.sources SET enabled = true WHERE id = $id");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM worker_status() WHERE id = $id AND pid IS NOT NULL"),
	'enabled = true starts it again');
$node->safe_psql('postgres', "DELETE FROM triggerstock.sources; TRUNCATE triggerstock.trades, triggerstock.candles");

# --- wss:// ---------------------------------------------------------------
$x = start_exchange(exchange => 'binance', replay => $capture, tls => [ "$certs/server.pem", "$certs/server.key" ]);
$id = $node->safe_psql('postgres',
	"SELECT add_source('tls', 'binance', 'wss://127.0.0.1:$x->{port}', ARRAY['ETHUSDT'])");
is(wait_for_trades($node, 'true', $total, 60), $total, "wss: all $total trades over TLS");
compare_trades($node, 'binance', expected_trades('binance', $capture), 'wss');
stop_exchange($x);

# without the CA the certificate is refused; the worker retries, never exits
$node->safe_psql('postgres', "DELETE FROM triggerstock.sources");
$node->append_conf('postgresql.conf', "triggerstock.ingest_ca_file = '$certs/server.pem'\n");
$node->reload;
$x = start_exchange(exchange => 'binance', replay => $capture, tls => [ "$certs/server.pem", "$certs/server.key" ]);
$id = $node->safe_psql('postgres',
	"SELECT add_source('untrusted', 'binance', 'wss://127.0.0.1:$x->{port}', ARRAY['ETHUSDT'])");
ok($node->poll_query_until('postgres',
	"SELECT reconnects >= 2 AND trades = 0 FROM triggerstock.ingest_status WHERE source = $id"),
	'wss with an unknown CA: refused, retried');
is($node->safe_psql('postgres', "SELECT starts FROM worker_status() WHERE id = $id"), '1',
	'the worker did not exit');
stop_exchange($x);

done_testing();
