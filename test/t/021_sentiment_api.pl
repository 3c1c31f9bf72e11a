# The optional sentiment model endpoint (triggerstock.sentiment_url), end to
# end against the local HTTP server (test/news_server.py on 127.0.0.1):
#  - OpenAI-compatible chat completions: new items get scorer 'openai' and
#    exactly the server's scores; the bearer token is sent;
#  - Hugging Face text classification: scorer 'huggingface', P(pos) - P(neg);
#  - triggerstock.sentiment_max_items: the items past it use the lexicon;
#  - an endpoint answering HTTP 500 and one that never answers (timeout
#    500 ms): every item gets scorer 'builtin' and the lexicon score, one
#    WARNING is logged, and the worker stays alive (same pid);
#  - a malformed feed still fails with last_error, with no request and no
#    sentiment WARNING;
#  - sentiment_url '' again: no requests, scorer 'builtin'.
# The GUCs change with ALTER SYSTEM + pg_reload_conf(); each case polls a
# fresh feed URL (/tagged/TAG/NAME: a real feed under new guids).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NewsTest;
use Time::HiRes qw(usleep);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $state = PostgreSQL::Test::Utils::tempdir;

# the local HTTP server (NewsTest stops it by its pid at the end)
my ($base) = start_news_server($state);

my $node = PostgreSQL::Test::Cluster->new('sentiment_api');
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

# Set GUCs with ALTER SYSTEM, reload, and wait until a new session sees
# them (the postmaster has then signalled the poll worker too).
sub set_gucs
{
	my (%gucs) = @_;
	my $sql = join('', map { "ALTER SYSTEM SET triggerstock.$_ = '$gucs{$_}';\n" } sort keys %gucs);
	$node->safe_psql('postgres', $sql . 'SELECT pg_reload_conf();');
	# the api key shows as a mask (issue 12)
	my $check = join(' AND ', map { "current_setting('triggerstock.$_') = '"
		  . ($_ eq 'sentiment_api_key' ? '********' : $gucs{$_}) . "'" } sort keys %gucs);
	$node->poll_query_until('postgres', "SELECT $check") or die "the GUCs were not reloaded";
	usleep(300_000);
}

# Add a fresh feed (a real feed under new guids) and wait for its n items.
sub poll_feed
{
	my ($tag, $name, $n) = @_;
	my $id = $node->safe_psql('postgres', "SELECT add_feed('$base/tagged/$tag/$name', '1 second')");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM triggerstock.news WHERE feed_id = $id"),
		"$tag: the $n items of $name landed");
	return $id;
}

# The count of items of feed $id matching the SQL condition.
sub count_where
{
	my ($id, $cond) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM triggerstock.news WHERE feed_id = $id AND ($cond)");
}

# The number of requests the server saw on a sentiment path so far.
sub requests_to
{
	my ($path) = @_;
	return 0 unless -f "$state/sentiment.log";
	return scalar(grep { m{^\Q$path\E } } split(/\n/, slurp_file("$state/sentiment.log")));
}

my $lexicon = "sentiment = sentiment(concat_ws(E'\\n', title, summary))";
my $has_bitcoin = "concat_ws(E'\\n', title, summary) ILIKE '%bitcoin%'";

# 1. OpenAI-compatible chat completions, with a bearer token
set_gucs(sentiment_url => "$base/v1/chat/completions", sentiment_api => 'openai',
	sentiment_model => 'finbert-test', sentiment_api_key => 'test-secret',
	sentiment_timeout => '2s', sentiment_max_items => '50');
my $oa = poll_feed('oa', 'coindesk_2025-12-12', 25);
my $poll_pid = $node->safe_psql('postgres', "SELECT pid FROM worker_status() WHERE kind = 'poll'");
ok($poll_pid > 0, 'the launcher runs the poll worker');
is(count_where($oa, "scorer = 'openai'"), '25', 'openai: every item has scorer openai');
is(count_where($oa, "sentiment = CASE WHEN $has_bitcoin THEN 0.9 ELSE -0.4 END"), '25',
	'openai: every item has exactly the server\'s score');
ok(count_where($oa, "sentiment = 0.9") > 0 && count_where($oa, "sentiment = -0.4") > 0,
	'openai: both answers occur');
is(requests_to('/v1/chat/completions'), 25, 'openai: one request per new item');
my @auth = grep { m{^/v1/chat/completions 200 Bearer test-secret$} }
  split(/\n/, slurp_file("$state/sentiment.log"));
is(scalar(@auth), 25, 'openai: every request carried the bearer token and was valid (200)');
sleep(2);
is(requests_to('/v1/chat/completions'), 25, 'openai: re-polls of a known feed ask nothing');
my ($rc, $out, $err) = $node->psql('postgres',
	"CREATE ROLE plain_user; SET ROLE plain_user; SHOW triggerstock.sentiment_api_key;");
like($err, qr/must be superuser|permission denied/, 'the api key is hidden from ordinary users');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_settings WHERE name = 'triggerstock.sentiment_api_key'"),
	'0', 'the api key is not in pg_settings (GUC_NO_SHOW_ALL)');

# 2. Hugging Face text classification
set_gucs(sentiment_url => "$base/hf/classify", sentiment_api => 'huggingface',
	sentiment_api_key => '');
my $hf = poll_feed('hf', 'cointelegraph_2025-12-12', 30);
is(count_where($hf, "scorer = 'huggingface'"), '30', 'huggingface: every item has scorer huggingface');
is(count_where($hf, "sentiment = CASE WHEN $has_bitcoin THEN 0.75 - 0.125 ELSE 0.125 - 0.625 END"),
	'30', 'huggingface: every score is P(positive) - P(negative)');
ok(count_where($hf, "sentiment = 0.625") > 0 && count_where($hf, "sentiment = -0.5") > 0,
	'huggingface: both answers occur');

# 3. sentiment_max_items: the rest of the poll's new items use the lexicon
set_gucs(sentiment_max_items => '5');
my $mx = poll_feed('mx', 'decrypt_2025-12-12', 58);
is(count_where($mx, "scorer = 'huggingface'"), '5', 'max_items: 5 items scored by the endpoint');
is(count_where($mx, "scorer = 'builtin' AND $lexicon"), '53',
	'max_items: the other 53 have scorer builtin and the lexicon score');

# 4. an endpoint answering HTTP 500
set_gucs(sentiment_url => "$base/sentiment/broken", sentiment_api => 'openai',
	sentiment_max_items => '50');
my $br = poll_feed('br', 'coindesk_2025-12-12', 25);
is(count_where($br, "scorer = 'builtin' AND $lexicon"), '25',
	'broken endpoint: every item has scorer builtin and the lexicon score');
is(requests_to('/sentiment/broken'), 3, 'broken endpoint: the poll gave up after 3 failures in a row');
ok($node->wait_for_log(
	qr/WARNING:  triggerstock poll: feed $br: sentiment endpoint failed: HTTP status 500: model crashed/),
	'broken endpoint: one WARNING with the error');
is($node->safe_psql('postgres', "SELECT last_error IS NULL FROM triggerstock.feeds WHERE id = $br"),
	't', 'broken endpoint: the feed poll itself succeeded');

# 5. an endpoint that never answers, timeout 500 ms
set_gucs(sentiment_url => "$base/sentiment/slow", sentiment_timeout => '500ms');
my $sl = poll_feed('sl', 'cointelegraph_2025-12-12', 30);
is(count_where($sl, "scorer = 'builtin' AND $lexicon"), '30',
	'slow endpoint: every item has scorer builtin and the lexicon score');
ok(requests_to('/sentiment/slow') <= 3, 'slow endpoint: at most 3 requests for the poll');
ok($node->wait_for_log(
	qr/WARNING:  triggerstock poll: feed $sl: sentiment endpoint failed: timed out after 500 ms/),
	'slow endpoint: one WARNING with the timeout');
# a malformed feed fails as before (last_error), with no request and no WARNING
my $slow_requests = requests_to('/sentiment/slow');
my $bad = $node->safe_psql('postgres', "SELECT add_feed('$base/malformed', '1 second')");
ok($node->poll_query_until('postgres',
	"SELECT last_error LIKE 'invalid feed: malformed XML%' FROM triggerstock.feeds WHERE id = $bad"),
	'malformed feed: the poll fails with last_error as without an endpoint');
is(requests_to('/sentiment/slow'), $slow_requests, 'malformed feed: no request to the endpoint');
$node->safe_psql('postgres', "UPDATE triggerstock.feeds SET enabled = false WHERE id = $bad");
my $warnings = () = slurp_file($node->logfile) =~ /sentiment endpoint failed/g;
is($warnings, 2, 'one WARNING per failing poll, not per item');

# 6. sentiment_url '' again: the lexicon only, no requests
my $before = -f "$state/sentiment.log" ? scalar(split(/\n/, slurp_file("$state/sentiment.log"))) : 0;
set_gucs(sentiment_url => '');
my $off = poll_feed('off', 'decrypt_2025-12-12', 58);
is(count_where($off, "scorer = 'builtin' AND $lexicon"), '58', 'off: scorer builtin and the lexicon score');
is(scalar(split(/\n/, slurp_file("$state/sentiment.log"))), $before, 'off: no request to any endpoint');

is($node->safe_psql('postgres', "SELECT pid FROM worker_status() WHERE kind = 'poll'"),
	$poll_pid, 'the poll worker never restarted');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.feeds WHERE last_error IS NOT NULL AND id <> $bad"),
	'0', 'no other feed poll failed');

$node->stop;
done_testing();
