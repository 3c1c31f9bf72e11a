# Secrets never reach a log line, an error, a view or pg_stat_activity
# (issue 12, item 4): the sentiment API key and a source's token are used
# (the endpoint receives the key, the exchange the token), a reload of the
# key, an endpoint that echoes the key in its error and a failing source are
# all exercised; then the server log (outside the test client's own
# statements), SHOW, the views and pg_stat_activity are searched for both
# values.  test/run-tap.sh runs the same log scan (test/secret_scan.pl) over
# every TAP test's server logs with the values of test/secrets.txt.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;
use NewsTest;

my $key = 'sk-tsk-SENTIMENT-7f3a9c2e';
my $token = 'tok-tsk-SOURCE-41d2e8b7';
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $state = PostgreSQL::Test::Utils::tempdir;
my ($base) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('secrets');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.allowed_hosts = '127.0.0.1'
triggerstock.poll_timeout = '3s'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');

# the key, set in the configuration and reloaded (the postmaster logs every
# changed parameter with its value)
$node->safe_psql('postgres', qq{
	ALTER SYSTEM SET triggerstock.sentiment_url = '$base/v1/chat/completions';
	ALTER SYSTEM SET triggerstock.sentiment_model = 'm';
	ALTER SYSTEM SET triggerstock.sentiment_api_key = '$key';
	SELECT pg_reload_conf();});
$node->poll_query_until('postgres', qq{SELECT current_setting('triggerstock.sentiment_url') = '$base/v1/chat/completions'});
is($node->safe_psql('postgres', 'SHOW triggerstock.sentiment_api_key'), '********',
	'SHOW gives a mask, even to a superuser');
my $id = $node->safe_psql('postgres', "SELECT add_feed('$base/tagged/k1/coindesk_2025-12-12', '1 second')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 25 FROM triggerstock.news WHERE scorer = 'openai'"),
	'the endpoint scored the items');
my @auth = grep { /Bearer \Q$key\E$/ } split /\n/, slurp_file("$state/sentiment.log");
is(scalar(@auth), 25, 'every request carried the key');

# an endpoint that repeats the key in its error
$node->safe_psql('postgres', qq{
	ALTER SYSTEM SET triggerstock.sentiment_url = '$base/sentiment/echo'; SELECT pg_reload_conf();});
$node->poll_query_until('postgres', qq{SELECT current_setting('triggerstock.sentiment_url') = '$base/sentiment/echo'});
$node->safe_psql('postgres', "SELECT add_feed('$base/tagged/k2/coindesk_2025-12-12', '1 second')");
ok($node->wait_for_log(qr/sentiment endpoint failed: HTTP status 401: key: Bearer \[redacted\]/),
	'an echoed key is redacted from the WARNING');
# a new key, reloaded again
$node->safe_psql('postgres', qq{
	ALTER SYSTEM SET triggerstock.sentiment_api_key = '${key}-2'; SELECT pg_reload_conf();});
sleep(1);

# the source token
my $x = start_exchange(exchange => 'finnhub', simulate => undef, rate => 50);
my $src = $node->safe_psql('postgres', qq{
	SELECT add_source('fh', 'finnhub', 'ws://127.0.0.1:$x->{port}/ws', ARRAY['AAPL'], token => '$token')});
ok($node->poll_query_until('postgres', "SELECT trades > 0 FROM triggerstock.ingest_status WHERE source = $src"),
	'the source streams with its token');
my $bad = $node->safe_psql('postgres', qq{
	SELECT add_source('fh-down', 'finnhub', 'ws://127.0.0.1:1/ws', ARRAY['AAPL'], token => '$token')});
ok($node->poll_query_until('postgres', "SELECT state = 'backoff' FROM triggerstock.ingest_status WHERE source = $bad"),
	'a source that cannot connect backs off');
sleep(2);

# --- where a secret must not be ----------------------------------------------------
for my $secret ($key, $token)
{
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM pg_stat_activity
		WHERE strpos(coalesce(query, '') || coalesce(application_name, '') || backend_type, '$secret') > 0
		  AND pid <> pg_backend_pid()}), '0', "pg_stat_activity: no $secret");
	is($node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM triggerstock.ingest_status s WHERE strpos(s::text, '$secret') > 0)
		     + (SELECT count(*) FROM worker_status() w WHERE strpos(w::text, '$secret') > 0)
		     + (SELECT count(*) FROM triggerstock.sources s WHERE strpos(s::text, '$secret') > 0)
		     + (SELECT count(*) FROM triggerstock.feeds f WHERE strpos(f::text, '$secret') > 0)
		     + (SELECT count(*) FROM triggerstock.dead_letters d WHERE strpos(d.error, '$secret') > 0)
		     + (SELECT count(*) FROM pg_settings WHERE strpos(setting, '$secret') > 0)}),
		'0', "views, tables and pg_settings: no $secret");
}
stop_exchange($x);
$node->stop;

# the server log, every line the server wrote (not the test's own statements)
my $secrets = "$state/secrets.txt";
open(my $f, '>', $secrets) or die;
print $f "$key\n$token\n";
close $f;
my $scan = `perl $repo/test/secret_scan.pl $secrets ${\ $node->logfile} 2>&1`;
note($scan);
is($? >> 8, 0, 'the server log holds neither the key nor the token');

done_testing();
