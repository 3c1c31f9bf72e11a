# Sources beyond the worker slots say so: with triggerstock.max_workers = 2
# the third enabled source shows 'no worker slot' in ingest_status (not
# 'starting' forever) and starts once a slot frees up; with too few
# max_worker_processes the launcher cannot register a worker and the source
# shows 'no worker slot' too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;

# the sources point at a closed port: their workers run and back off
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $add = sub {
	my ($node, $name) = @_;
	$node->safe_psql('postgres', qq{
		SELECT add_source('$name', 'binance', 'ws://127.0.0.1:$port', ARRAY['${name}USDT'])});
};
my $states = q{SELECT string_agg(name || '=' || state, ' ' ORDER BY name) FROM triggerstock.ingest_status};

my $node = ingest_node('slots', "triggerstock.max_workers = 2\n");
$add->($node, $_) for qw(A B C);
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) FILTER (WHERE state = 'no worker slot') = 1
	   AND count(*) FILTER (WHERE pid IS NOT NULL) = 2 FROM triggerstock.ingest_status}),
	'max_workers = 2: two sources run, the third has no worker slot');
note($node->safe_psql('postgres', $states));
like(slurp_file($node->logfile), qr/could not start triggerstock ingest worker \d+: no triggerstock \(triggerstock\.max_workers\) slot free/,
	'the launcher logs why');
$node->safe_psql('postgres', q{UPDATE triggerstock.sources SET enabled = false
	WHERE id = (SELECT min(source) FROM triggerstock.ingest_status WHERE pid IS NOT NULL)});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) FILTER (WHERE pid IS NOT NULL) = 2 AND count(*) FILTER (WHERE state = 'disabled') = 1
	FROM triggerstock.ingest_status}),
	'a freed slot goes to the waiting source');
note($node->safe_psql('postgres', $states));
$node->stop;

# max_worker_processes: the logical replication launcher, the supervisor,
# the launcher and one worker fit, not two
my $small = ingest_node('small', "max_worker_processes = 4\n");
$add->($small, $_) for qw(D E);
ok($small->poll_query_until('postgres', q{
	SELECT count(*) FILTER (WHERE state = 'no worker slot' AND pid IS NULL) = 1
	   AND count(*) FILTER (WHERE pid IS NOT NULL) = 1 FROM triggerstock.ingest_status}),
	'max_worker_processes = 4: one source runs, the other has no worker slot');
note($small->safe_psql('postgres', $states));
like(slurp_file($small->logfile), qr/no background worker \(max_worker_processes\) slot free/, 'the launcher logs why');
$small->stop;

done_testing();
