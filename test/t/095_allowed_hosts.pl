# Outbound connections (issue 12, least privilege): triggerstock.allowed_hosts
# restricts where sources, feeds, quote sources and the sentiment endpoint
# connect; loopback and link-local addresses are refused unless listed (also
# when a name resolves to them); a redirect is checked like the first URL.
# The peers are the local test servers on 127.0.0.1.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;
use NewsTest;

my $state = PostgreSQL::Test::Utils::tempdir;
my ($base, $port) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('allowed_hosts');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.poll_timeout = '3s'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');

sub set_hosts
{
	my ($value) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET triggerstock.allowed_hosts = '$value'; SELECT pg_reload_conf();");
	$node->poll_query_until('postgres', "SELECT current_setting('triggerstock.allowed_hosts') = '$value'")
	  or die 'not reloaded';
	sleep(1);
}

# the last error of a feed, once polled
sub feed_error
{
	my ($url) = @_;
	my $id = $node->safe_psql('postgres', "SELECT add_feed('$url', '1 hour')");
	$node->poll_query_until('postgres', "SELECT last_polled IS NOT NULL FROM triggerstock.feeds WHERE id = $id");
	my $err = $node->safe_psql('postgres', "SELECT coalesce(last_error, 'ok') FROM triggerstock.feeds WHERE id = $id");
	$node->safe_psql('postgres', "UPDATE triggerstock.feeds SET enabled = false WHERE id = $id");
	return $err;
}

# --- the default (empty list): any host, but not the loopback ------------------
like(feed_error("$base/feed/coindesk_2025-12-12"),
	qr/^destination not allowed: address 127\.0\.0\.1 of host "127\.0\.0\.1" is loopback; list it in triggerstock\.allowed_hosts/,
	'a feed on 127.0.0.1 is refused by default');
like(feed_error("http://localhost:$port/feed/coindesk_2025-12-12"),
	qr/^destination not allowed: address (127\.0\.0\.1|::1) of host "localhost" is loopback/,
	'a name that resolves to the loopback is refused by its address');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.news'), '0', 'nothing was stored');
my $x = start_exchange(exchange => 'binance', simulate => undef, rate => 20);
my $src = $node->safe_psql('postgres', "SELECT add_source('s', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'])");
ok($node->wait_for_log(qr/triggerstock ingest source $src: destination not allowed: address 127\.0\.0\.1 of host "127\.0\.0\.1" is loopback/),
	'a WebSocket source on 127.0.0.1 is refused by default');
is($node->safe_psql('postgres', "SELECT trades FROM triggerstock.ingest_status WHERE source = $src"), '0',
	'it stored nothing');
$node->safe_psql('postgres', qq{
	ALTER SYSTEM SET triggerstock.sentiment_url = '$base/v1/chat/completions';
	ALTER SYSTEM SET triggerstock.sentiment_model = 'm'; SELECT pg_reload_conf()});

# --- listed ---------------------------------------------------------------------------
set_hosts('127.0.0.1');
is(feed_error("$base/tagged/a/coindesk_2025-12-12"), 'ok', 'listed: the feed is polled');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.news WHERE scorer = 'openai'"), '25',
	'listed: the sentiment endpoint scored its items');
ok($node->poll_query_until('postgres', "SELECT trades > 0 FROM triggerstock.ingest_status WHERE source = $src"),
	'listed: the source streams');
like(feed_error("http://localhost:$port/tagged/n/coindesk_2025-12-12"),
	qr/^destination not allowed: host "localhost" is not in triggerstock\.allowed_hosts/,
	'a name not in a non-empty list is refused');

# --- redirects -------------------------------------------------------------------------
is(feed_error("$base/redirect?$base/tagged/b/coindesk_2025-12-12"), 'ok', 'a redirect to a listed host is followed');
like(feed_error("$base/redirect?http://localhost:$port/tagged/c/coindesk_2025-12-12"),
	qr/^destination not allowed: host "localhost" is not in triggerstock\.allowed_hosts/,
	'a redirect to a host not listed is refused');
like(feed_error("$base/redirect?http://169.254.169.254/latest/meta-data/"),
	qr/^destination not allowed: host "169\.254\.169\.254" is not in triggerstock\.allowed_hosts/,
	'a redirect to the link-local metadata address is refused');
my $q = $node->safe_psql('postgres', qq{
	SELECT add_quote_source('$base/redirect?http://localhost:$port/quote/x', 'X', '{}', '1 hour')});
ok($node->poll_query_until('postgres',
	"SELECT last_error LIKE 'destination not allowed: host \"localhost\"%' FROM triggerstock.quote_sources WHERE id = $q"),
	'a quote source redirected elsewhere is refused, and stores no trade');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades WHERE exchange = 'quote'"), '0',
	'no quote trade');

# --- a list without the loopback ----------------------------------------------------------
set_hosts('*.example.com, 10.0.0.0/8');
like(feed_error("$base/tagged/d/coindesk_2025-12-12"),
	qr/^destination not allowed: host "127\.0\.0\.1" is not in triggerstock\.allowed_hosts/,
	'127.0.0.1 is refused by a list that does not name it');

# --- values ------------------------------------------------------------------------------
my ($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET triggerstock.allowed_hosts = '10.0.0.0/33'});
like($err, qr/invalid value for parameter "triggerstock\.allowed_hosts".*\n.*"10\.0\.0\.0\/33" is not an address range/,
	'a bad range is refused with the reason');
($rc, $out, $err) = $node->psql('postgres', q{SET triggerstock.allowed_hosts = '*'});
like($err, qr/parameter "triggerstock\.allowed_hosts" cannot be changed now/, 'it is set in the configuration only');

stop_exchange($x);
$node->stop;
done_testing();
