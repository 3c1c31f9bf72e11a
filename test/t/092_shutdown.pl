# Workers end when asked, and never hold a database hostage (issue 12,
# items 3 and 10):
#  - SIGTERM (pg_terminate_backend) ends the launcher, an ingest worker, the
#    poll worker and the predictor within a second each, also an ingest
#    worker whose flush waits for a lock another session holds;
#  - DROP EXTENSION while an ingest worker holds a batch: every worker exits
#    by itself, and DROP DATABASE ... WITH (FORCE) then succeeds;
#  - the launcher waits quietly while its database does not exist (no
#    FATAL every 10 s), and serves it again once it is back;
#  - after a restart the supervisor starts the launcher without a FATAL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use IngestTest;
use NewsTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $state = PostgreSQL::Test::Utils::tempdir;
my ($base) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('shutdown');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'market'
triggerstock.maintenance_naptime = 1
triggerstock.allowed_hosts = '127.0.0.1'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE market');
$node->safe_psql('market', 'CREATE EXTENSION triggerstock');

# pid of the running worker of a kind (other than $not)
sub worker_pid
{
	my ($kind, $not) = @_;
	my $q = "SELECT w.pid FROM worker_status() w JOIN pg_stat_activity a ON a.pid = w.pid
	         WHERE w.kind = '$kind' AND w.pid <> " . ($not // 0);
	$node->poll_query_until('market', "SELECT count(*) = 1 FROM ($q) x") or return '';
	return $node->safe_psql('market', $q);
}

# SIGTERM and wait at most 1 s: true if the process is gone by then
sub ends_within_a_second
{
	my ($pid) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT pg_terminate_backend($pid, 1000)");
	note($err) if $err;
	return $out eq 't';
}

my $x = start_exchange(exchange => 'binance', simulate => undef, rate => 300);
$node->safe_psql('market', qq{
	SELECT add_source('bin', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT']);
	SELECT add_feed('$base/feed/coindesk_2025-12-12', '1 second');
	INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
	        train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
	VALUES ('SP', '1 minute', 1, '\\x00', encode(sha256('\\x00'), 'hex'), '{}', ARRAY['rsi_14'], 0,
	        now() - interval '3 hours', now() - interval '2 hours', now() - interval '1 hour', now(),
	        '{}', '{}', '{}', 'test');
	INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason)
	SELECT 'SP', max(id), 'model_id', 'test' FROM triggerstock.models;
});
ok($node->poll_query_until('market', 'SELECT count(*) > 100 FROM triggerstock.trades'), 'streaming');

# --- SIGTERM ends each kind of worker within a second ----------------------------
my %killed;
for my $kind ('ingest', 'poll', 'predictor')
{
	my $pid = $killed{$kind} = worker_pid($kind);
	ok($pid && ends_within_a_second($pid), "SIGTERM ends the $kind worker within a second");
}
# an ingest worker whose flush waits for a lock
my $pid = worker_pid('ingest', $killed{ingest});
ok($node->poll_query_until('market',
	"SELECT state = 'streaming' FROM triggerstock.ingest_status WHERE pid = $pid"), 'ingest worker streaming again');
my $bg = $node->background_psql('market');
$bg->query_safe('BEGIN; LOCK TABLE triggerstock.trades IN ACCESS EXCLUSIVE MODE;');
ok($node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid"), 'its flush waits for the lock');
ok(ends_within_a_second($pid), 'SIGTERM ends it within a second all the same');
$bg->query_safe('ROLLBACK;');
$bg->quit;

my $launcher = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'triggerstock launcher'});
ok($launcher && ends_within_a_second($launcher), 'SIGTERM ends the launcher within a second');

# the new launcher stops the workers of the old one and starts its own
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'triggerstock launcher' AND pid <> $launcher"),
	'the supervisor started a new launcher');
sleep(3);

# --- DROP EXTENSION while streaming: the workers leave, the database can go ------
$pid = worker_pid('ingest', $pid);
ok($node->poll_query_until('market',
	"SELECT state = 'streaming' AND trades > 0 FROM triggerstock.ingest_status WHERE pid = $pid"),
	'ingest worker streaming again');
$node->safe_psql('market', 'DROP EXTENSION triggerstock CASCADE');
my $gone = 0;
for (1 .. 100)
{
	$gone = $node->safe_psql('postgres', q{
		SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type LIKE 'triggerstock %'
		  AND backend_type NOT IN ('triggerstock launcher', 'triggerstock supervisor')});
	last if $gone eq 't';
	usleep(100_000);
}
is($gone, 't', 'after DROP EXTENSION every worker exited within 10 s');
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE market WITH (FORCE)');
is($rc, 0, 'DROP DATABASE ... WITH (FORCE) succeeds');
note($err) if $rc;
stop_exchange($x);

# --- the launcher waits quietly for its database ---------------------------------
# (a launcher start racing with the DROP may fail once; then nothing for 12 s)
sleep(6);
my $offset = -s $node->logfile;
sleep(12);
my $log = slurp_file($node->logfile, $offset);
my $fatal = () = $log =~ /FATAL:  database .* does not exist/g;
is($fatal, 0, 'no FATAL from the launcher while its database is gone');
ok($node->log_contains(qr/triggerstock waits for database "market" \(triggerstock.database\) to exist/),
	'the wait is logged once');
$node->safe_psql('postgres', 'CREATE DATABASE market');
$node->safe_psql('market', 'CREATE EXTENSION triggerstock');
ok($node->poll_query_until('market', 'SELECT count(*) >= 8 FROM trade_partitions() WHERE range_to > now()'),
	'once the database is back, the launcher serves it again (maintenance ran)');

# --- a restart: the supervisor finds its database before any backend has -----
# (with no database connection it can read pg_database by a heap scan only:
# right after a start, get_database_oid()'s index scan failed every time)
$node->stop;
$offset = -s $node->logfile;
$node->start;
ok($node->poll_query_until('market',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'triggerstock launcher'}),
	'after a restart the launcher runs again');
$log = slurp_file($node->logfile, $offset);
unlike($log, qr/FATAL|cannot read pg_class/, 'no FATAL from the supervisor after a restart');

$node->stop;
done_testing();
