# Bounded resources of the workers (issue 12, items 7, 8 and 9):
#  - 100 feeds due at once, each answered after 2 s: the poll worker runs at
#    most 64 transfers, the others wait for a slot in order (logged as late)
#    and every feed is polled within seconds, none pushed back an interval;
#  - out of worker slots (max_worker_processes, triggerstock.max_workers):
#    the sources that cannot run show state 'no worker slot', the launcher
#    backs off and logs one WARNING (with a hint naming both settings), not
#    one per slot per second;
#  - the XGBoost thread counts are settable by superusers only.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NewsTest;

my $state = PostgreSQL::Test::Utils::tempdir;
my ($base) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('resources');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.allowed_hosts = '127.0.0.1'
triggerstock.poll_timeout = '20s'
max_worker_processes = 16
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');

# --- 1. more feeds due than transfer slots ------------------------------------------
$node->safe_psql('postgres', qq{
	SELECT add_feed('$base/slow/2000/q' || i || '/coindesk_2025-12-12', '1 hour')
	FROM generate_series(1, 100) i});
my $t0 = time;
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 100 FROM triggerstock.feeds WHERE last_status = 200 AND last_error IS NULL}, 't'),
	'every one of 100 feeds due at once was polled');
my $took = time - $t0;
cmp_ok($took, '<', 60, "within $took s (an interval is an hour)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.news'), '2500', 'all their 2,500 items landed');
ok($node->log_contains(qr/late: waiting for a free transfer slot since .* \(64 transfers in flight/),
	'the feeds that waited were reported late');
$node->safe_psql('postgres', 'UPDATE triggerstock.feeds SET enabled = false');

# --- 2. out of worker slots ---------------------------------------------------------
# 5 processes: logical replication launcher, triggerstock supervisor and
# launcher, one ingest worker, one spare; 3 triggerstock slots for 4 sources
$node->append_conf('postgresql.conf', qq{
max_worker_processes = 5
triggerstock.max_workers = 3
});
$node->restart;
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	SELECT add_source('s' || i, 'binance', 'ws://127.0.0.1:1', ARRAY['BTCUSDT']) FROM generate_series(1, 4) i});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 2 FROM triggerstock.ingest_status WHERE state = 'no worker slot'}),
	'two sources show state "no worker slot" (one without a bgworker process, one without a triggerstock slot)');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM triggerstock.ingest_status WHERE pid IS NOT NULL}), '2', 'the other two run');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM worker_status() WHERE state = 'no worker slot'}), '2', 'worker_status() says so too');
sleep(10);
my $log = slurp_file($node->logfile, $offset);
my $warnings = () = $log =~ /WARNING:  could not start triggerstock ingest worker/g;
is($warnings, 1, 'one WARNING in 10 s, not one per slot per second');
like($log, qr/HINT:  Raise max_worker_processes \(currently 5\) and triggerstock\.max_workers \(currently 3\)/,
	'the hint names both settings');
$node->safe_psql('postgres', 'DELETE FROM triggerstock.sources');

# --- 3. thread counts ------------------------------------------------------------------
my ($rc, $out, $err) = $node->psql('postgres',
	'CREATE ROLE plain_user; SET ROLE plain_user; SET triggerstock.train_threads = 256');
like($err, qr/permission denied to set parameter "triggerstock\.train_threads"/,
	'an ordinary role cannot set train_threads');
($rc, $out, $err) = $node->psql('postgres', 'SET ROLE plain_user; SET triggerstock.predict_threads = 64');
like($err, qr/permission denied to set parameter "triggerstock\.predict_threads"/,
	'nor predict_threads');
is($node->safe_psql('postgres', 'SET triggerstock.train_threads = 2; SHOW triggerstock.train_threads'), '2',
	'a superuser can');

$node->stop;
done_testing();
