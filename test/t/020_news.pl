# News and quote polling end to end, against a local HTTP server
# (test/news_server.py on 127.0.0.1) that serves the real feeds in
# ../shared/data/news/rss/ and the failure cases:
#  - every item of the four real feeds lands once, with symbols and sentiment;
#  - a second poll is answered 304 and adds nothing;
#  - a changed feed adds only its new items;
#  - malformed XML, an XXE payload, a 50 MB body, a server that never
#    answers, a redirect loop and a non-http URL each leave a clear
#    last_error, store nothing, and the worker stays alive;
#  - a JSON quote endpoint with changing prices gives one trade per new price.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NewsTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $state = PostgreSQL::Test::Utils::tempdir;

# the local HTTP server (NewsTest stops it by its pid at the end)
my ($base, $port) = start_news_server($state);

# a feed the test changes: the CoinDesk items under other guids
my $coindesk = slurp_file("$shared/data/news/rss/coindesk_2025-12-12.rss");
$coindesk =~ s{<guid([^>]*)>}{<guid$1>chg-}g;
my ($head, $items, $tail) = $coindesk =~ m{^(.*?)((?:\s*<item>.*?</item>)+)(.*)$}s;
my @items = $items =~ m{(<item>.*?</item>)}gs;
sub write_changing
{
	my ($n) = @_;
	open(my $fh, '>', "$state/changing.rss.tmp") or die;
	print $fh $head, join("\n", @items[0 .. $n - 1]), $tail;
	close $fh;
	rename("$state/changing.rss.tmp", "$state/changing.rss") or die;
}
write_changing(10);

sub write_quote
{
	my ($json) = @_;
	open(my $fh, '>', "$state/btc.json.tmp") or die;
	print $fh $json;
	close $fh;
	rename("$state/btc.json.tmp", "$state/btc.json") or die;
}
write_quote('{"c": 100.5, "d": 0, "h": 101, "l": 99, "o": 100, "pc": 100, "t": 1765578000}');

my $node = PostgreSQL::Test::Cluster->new('news');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
triggerstock.poll_timeout = '3s'
triggerstock.allowed_hosts = '127.0.0.1'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');

# the real feeds and the changing one, polled every second
$node->safe_psql('postgres', qq{
	SELECT add_feed('$base/feed/coindesk_2025-12-12', '1 second');
	SELECT add_feed('$base/feed/cointelegraph_2025-12-12', '1 second');
	SELECT add_feed('$base/feed/decrypt_2025-12-12', '1 second');
	SELECT add_feed('$base/feed/prnewswire_news_releases_2025-12-13', '1 second');
	SELECT add_feed('$base/file/changing.rss', '1 second');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM triggerstock.feeds WHERE last_status IN (200, 304)"),
	'the poll worker fetched every feed');
my $poll_pid = $node->safe_psql('postgres', "SELECT pid FROM worker_status() WHERE kind = 'poll'");
ok($poll_pid > 0, 'the launcher runs the poll worker');

is($node->safe_psql('postgres', q{
	SELECT string_agg(n::text, ',' ORDER BY id) FROM (
	    SELECT f.id, count(n.guid) AS n FROM triggerstock.feeds f
	    LEFT JOIN triggerstock.news n ON n.feed_id = f.id GROUP BY f.id) c}),
	'25,30,58,20,10', 'every item of every feed landed once');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.news
	WHERE sentiment IS NULL OR sentiment NOT BETWEEN -1 AND 1 OR scorer <> 'builtin'
	   OR symbols IS NULL OR title IS NULL OR published_at IS NULL}),
	'0', 'every item has a title, a date, symbols and a builtin sentiment');
ok($node->safe_psql('postgres',
	"SELECT count(*) FROM triggerstock.news WHERE symbols @> '{BTC}'") >= 10,
	'bitcoin news carry the BTC symbol');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.news WHERE title ~ '<[a-z/]|&(amp|lt|gt|quot|#[0-9]+);'
	   OR summary ~ '<[a-z/]|&(amp|lt|gt|quot|#[0-9]+);'}),
	'0', 'titles and summaries are stripped of HTML and entities');

# a second poll is answered 304 and adds nothing
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM triggerstock.feeds WHERE last_status = 304"),
	'the next polls are answered 304 Not Modified');
my $log = slurp_file("$state/requests.log");
ok($log =~ m{GET /feed/coindesk_2025-12-12 304 "}, 'the worker sent If-None-Match with the ETag');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.news'), '143',
	'304 answers add nothing');

# the changed feed adds only its new items
write_changing(15);
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 15 FROM triggerstock.news n JOIN triggerstock.feeds f ON f.id = n.feed_id
	WHERE f.url LIKE '%/changing.rss'}),
	'the changed feed added its 5 new items');
sleep(2);
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.news'), '148',
	'and nothing else');

# failure cases: each a clear last_error, nothing stored, the worker alive
$node->safe_psql('postgres', qq{
	SELECT add_feed('$base/malformed', '1 second');
	SELECT add_feed('$base/xxe', '1 second');
	SELECT add_feed('$base/big', '1 second');
	SELECT add_feed('$base/hang', '1 second');
	SELECT add_feed('$base/loop', '1 second');
	SELECT add_feed('$base/status/500', '1 second');
	INSERT INTO triggerstock.feeds (url, poll_interval) VALUES ('ftp://127.0.0.1:$port/x', '1 second');
	INSERT INTO triggerstock.feeds (url, poll_interval) VALUES ('file:///etc/passwd', '1 second');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 8 FROM triggerstock.feeds WHERE id > 5 AND last_error IS NOT NULL"),
	'every failing feed recorded an error');
my %expected = (
	'/malformed' => qr/^invalid feed: malformed XML at line \d+: /,
	'/xxe' => qr/DOCTYPE declares XML entities/,
	'/big' => qr/larger than triggerstock\.poll_max_body \(8388608 bytes\); nothing stored/,
	'/hang' => qr/^timed out after 3000 ms/,
	'/loop' => qr/^too many redirects \(more than triggerstock\.poll_max_redirects = 5\)/,
	'/status/500' => qr/^HTTP status 500; nothing stored/,
	'ftp://' => qr/^unsupported protocol \(only http and https are polled\)/,
	'file://' => qr/^unsupported protocol \(only http and https are polled\)/);
my %errors = map { split(/\|/, $_, 2) } split(/\n/, $node->safe_psql('postgres',
	"SELECT url, last_error FROM triggerstock.feeds WHERE id > 5"));
for my $case (sort keys %expected)
{
	my ($url) = grep { index($_, $case) >= 0 } keys %errors;
	like($errors{$url} // '', $expected{$case}, "$case: $errors{$url}");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.news WHERE feed_id > 5'),
	'0', 'nothing of a failed poll is stored');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.news WHERE guid LIKE 'xxe%' OR summary LIKE '%root:%'"),
	'0', 'no XXE payload reached the table');
# the good feeds keep being polled by the same process
$node->safe_psql('postgres', "UPDATE triggerstock.feeds SET last_status = NULL WHERE id <= 5");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM triggerstock.feeds WHERE id <= 5 AND last_status = 304"),
	'the worker carries on polling the good feeds');
is($node->safe_psql('postgres', "SELECT pid FROM worker_status() WHERE kind = 'poll'"),
	$poll_pid, 'the poll worker never restarted');
$node->safe_psql('postgres', 'UPDATE triggerstock.feeds SET enabled = false WHERE id > 5');

# JSON quote polling: one trade per new price or timestamp
$node->safe_psql('postgres', qq{
	SELECT add_quote_source('$base/quote/btc', 'BTC', '{"price": "c", "ts": "t"}', '1 second')});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM triggerstock.trades WHERE exchange = 'quote'"),
	'the first quote became a trade');
is($node->safe_psql('postgres', q{
	SELECT instrument || ' ' || symbol || ' ' || trade_id || ' ' || price || ' ' || qty || ' ' || ts
	FROM triggerstock.trades WHERE exchange = 'quote'}),
	'BTC BTC 1765578000000000 100.5 0 2025-12-12 22:20:00+00',
	'price, time and a trade id from the quote time');
sleep(3);
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades WHERE exchange = 'quote'"),
	'1', 'an unchanged quote adds nothing');
write_quote('{"c": 101.25, "t": 1765578005}');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM triggerstock.trades WHERE exchange = 'quote'"),
	'a new price became a second trade');
write_quote('{"error": "API limit reached"}');
ok($node->poll_query_until('postgres',
	q{SELECT last_error = 'no number at the price path "c"' FROM triggerstock.quote_sources}),
	'a response without a price is recorded as an error');
write_quote('not json');
ok($node->poll_query_until('postgres',
	q{SELECT last_error LIKE 'response is not valid JSON%' FROM triggerstock.quote_sources}),
	'so is a response that is not JSON');
write_quote('{"c": "101.75", "t": 1765578010}');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM triggerstock.trades WHERE exchange = 'quote'"),
	'the source recovers; prices given as strings are accepted');
is($node->safe_psql('postgres', "SELECT last_error IS NULL AND last_price = 101.75 FROM triggerstock.quote_sources"),
	't', 'the source row shows the last stored price');
is($node->safe_psql('postgres', "SELECT pid FROM worker_status() WHERE kind = 'poll'"),
	$poll_pid, 'still the same poll worker');

# disabling everything takes the worker out of the plan
$node->safe_psql('postgres', 'UPDATE triggerstock.feeds SET enabled = false; UPDATE triggerstock.quote_sources SET enabled = false');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM worker_status() WHERE kind = 'poll'"),
	'the launcher stops the poll worker when nothing is enabled');

$node->stop;
done_testing();
