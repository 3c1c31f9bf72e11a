# The URLs the ingest worker asks for, and where its token never shows.
# A local WebSocket server (test/ws_record_server.py, python3-websockets)
# records the request line and Host header of every connection; one source
# per URL shape of each exchange (with and without port, path and query,
# with and without token, IPv6) must produce exactly the request the
# exchange expects.  Then the token, raw and percent-encoded, must appear
# in no server log line (connect messages, invalid-URL and connection
# errors, libwebsockets' own lines), no ingest_status column and no
# pg_stat_activity row (the test's own statements are not logged: they
# carry the token as the user typed it).  Default ports (443/80) cannot be bound here; the
# unit test test_ws_url covers them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep);
use IngestTest;

my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
# the statements this test sends carry the token themselves (the test
# cluster logs every statement by default): keep only what the server and
# the extension write; the recorder listens on loopback: localhost by name,
# 127.0.0.1 and ::1 by address (triggerstock.allowed_hosts refuses loopback
# unless listed)
my $node = ingest_node('ingest_urls', "triggerstock.ingest_max_backoff = 1000\nlog_statement = none\n"
	. "triggerstock.allowed_hosts = 'localhost, 127.0.0.1, ::1'\n");
my $dir = PostgreSQL::Test::Utils::tempdir();
my $token = 'Tok/en&x=1 %y+z';    # every character that needs encoding
my $encoded = 'Tok%2Fen%26x%3D1%20%25y%2Bz';

# start_recorder(host): the recording server on a free port
sub start_recorder
{
	my ($host) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $log = "$dir/requests-$host-$port.log";
	my $ready = "$dir/ready-$port";
	my $h = IPC::Run::start([ '/usr/bin/python3', "$repo/test/ws_record_server.py", $host, $port, $log, $ready ],
		'>', \my $out, '2>', \my $err);
	for (1 .. 100)
	{
		last if -e $ready;
		usleep(50_000);
	}
	die "recorder did not start: $err" unless -e $ready;
	return { port => $port, log => $log, handle => $h };
}

# The recorded connections: [ { request, host, messages => [...] } ]
sub recorded
{
	my ($r) = @_;
	my @conns;
	open(my $f, '<', $r->{log}) or return [];
	while (my $line = <$f>)
	{
		my $j = decode_json($line);
		if (exists $j->{request}) { push @conns, { %$j, messages => [] } }
		elsif (@conns) { push @{ $conns[-1]{messages} }, $j->{message} }
	}
	close $f;
	return \@conns;
}

my $r4 = start_recorder('127.0.0.1');
my $p = $r4->{port};
my $n = 0;

# [exchange, url, token, options, instruments, expected request target, expected Host]
my @cases = (
	[ 'binance', "ws://127.0.0.1:$p", undef, '{}', ['BTCUSDT', 'ETHUSDT'],
		'/stream?streams=btcusdt@trade/ethusdt@trade', "127.0.0.1:$p" ],
	[ 'binance', "ws://127.0.0.1:$p/", undef, '{"feed": "binance_aggtrade"}', ['BTCUSD_PERP'],
		'/stream?streams=btcusd_perp@aggTrade', "127.0.0.1:$p" ],
	[ 'binance', "ws://127.0.0.1:$p?timeUnit=MICROSECOND", undef, '{}', ['BTCUSDT'],
		'/stream?streams=btcusdt@trade&timeUnit=MICROSECOND', "127.0.0.1:$p" ],
	[ 'binance', "ws://127.0.0.1:$p/ws/btcusdt\@trade", undef, '{}', ['BTCUSDT'],
		'/ws/btcusdt@trade', "127.0.0.1:$p" ],
	[ 'coinbase', "ws://127.0.0.1:$p", undef, '{}', ['BTC-USD'], '/', "127.0.0.1:$p" ],
	[ 'coinbase', "ws://127.0.0.1:$p", $token, '{"feed": "coinbase_advanced"}', ['BTC-USD'],
		"/?token=$encoded", "127.0.0.1:$p" ],
	[ 'kraken', "ws://127.0.0.1:$p", undef, '{}', ['XBT/USD'], '/', "127.0.0.1:$p" ],
	[ 'kraken', "ws://127.0.0.1:$p/v2", undef, '{"feed": "kraken_v2"}', ['BTC/USD'], '/v2', "127.0.0.1:$p" ],
	[ 'kraken', "ws://127.0.0.1:$p/ws/v1", undef, '{"feed": "kraken_futures"}', ['PI_XBTUSD'],
		'/ws/v1', "127.0.0.1:$p" ],
	[ 'finnhub', "ws://127.0.0.1:$p", $token, '{}', ['AAPL'], "/?token=$encoded", "127.0.0.1:$p" ],
	[ 'finnhub', "ws://127.0.0.1:$p/", $token, '{}', ['AAPL'], "/?token=$encoded", "127.0.0.1:$p" ],
	[ 'finnhub', "ws://127.0.0.1:$p/?format=json", $token, '{}', ['AAPL'],
		"/?format=json&token=$encoded", "127.0.0.1:$p" ],
	[ 'finnhub', "ws://localhost:$p", undef, '{}', ['AAPL'], '/', "localhost:$p" ],
	[ 'generic', "ws://127.0.0.1:$p/feed/v1?x=1#fragment", $token,
		'{"subscribe": "{\"op\":\"sub\"}", "map": {"items": "data", "instrument": "s", "price": "p", "qty": "q", "ts": "t"}}',
		['X'], "/feed/v1?x=1&token=$encoded", "127.0.0.1:$p" ],
);

for my $c (@cases)
{
	my ($exchange, $url, $tok, $options, $inst, $target, $host) = @$c;
	my $before = scalar @{ recorded($r4) };
	my $list = join(',', map { "'$_'" } @$inst);
	my $name = 'u' . $n++;
	my $token_arg = defined $tok ? ", token => \$tok\$$tok\$tok\$" : '';
	$node->safe_psql('postgres', qq{
		SELECT add_source('$name', '$exchange', '$url', ARRAY[$list], symbols => ARRAY[$list],
		                  options => '$options'$token_arg)});
	my $got;
	for (1 .. 200)
	{
		my $conns = recorded($r4);
		if (@$conns > $before) { $got = $conns->[$before]; last }
		usleep(50_000);
	}
	my $what = "$exchange $url" . (defined $tok ? ' with token' : '');
	is($got && $got->{request}, "GET $target HTTP/1.1", "$what: request line");
	is($got && $got->{host}, $host, "$what: Host header");
	$node->safe_psql('postgres', "DELETE FROM triggerstock.sources WHERE name = '$name'");
}

# the subscribe messages went over the connections (Coinbase, Kraken, generic)
usleep(300_000);
my @messages = map { @{ $_->{messages} } } @{ recorded($r4) };
ok((grep { /"type":"subscribe"/ } @messages), 'subscribe messages were sent after connecting');
ok((grep { $_ eq '{"op":"sub"}' } @messages), 'the generic source sent its own subscribe message');

# IPv6 loopback: address in brackets in Host, without them for connecting
SKIP:
{
	my $r6 = eval { start_recorder('::1') };
	skip 'no IPv6 loopback here', 2 unless $r6;
	my $p6 = $r6->{port};
	$node->safe_psql('postgres', qq{
		SELECT add_source('v6', 'finnhub', 'ws://[::1]:$p6/x', ARRAY['AAPL'], token => \$tok\$$token\$tok\$)});
	my $got;
	for (1 .. 200)
	{
		last if ($got = recorded($r6)->[0]);
		usleep(50_000);
	}
	is($got && $got->{request}, "GET /x?token=$encoded HTTP/1.1", 'IPv6: request line');
	is($got && $got->{host}, "[::1]:$p6", 'IPv6: Host header');
	$node->safe_psql('postgres', "DELETE FROM triggerstock.sources WHERE name = 'v6'");
	$r6->{handle}->kill_kill;
}

# errors that name the URL: a port out of range (the worker refuses the URL)
# and a closed port (a connection error), both with the token set; a token
# typed into the URL by hand is redacted too
my $closed = PostgreSQL::Test::Cluster::get_free_port();
$node->safe_psql('postgres', qq{
	SELECT add_source('badport', 'finnhub', 'ws://127.0.0.1:99999/', ARRAY['AAPL'], token => \$tok\$$token\$tok\$);
	SELECT add_source('closed', 'finnhub', 'ws://127.0.0.1:$closed', ARRAY['MSFT'], token => \$tok\$$token\$tok\$);
	SELECT add_source('byhand', 'finnhub', 'ws://127.0.0.1:$p', ARRAY['TSLA'])});
$node->safe_psql('postgres', qq{
	UPDATE triggerstock.sources SET url = 'ws://127.0.0.1:$p/?token=Hand-Typed-Secret' WHERE name = 'byhand'});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM triggerstock.ingest_status
	WHERE name IN ('badport', 'closed') AND state = 'backoff' AND pid IS NOT NULL}),
	'the workers of the bad URLs back off');
my $byhand;
for (1 .. 200)
{
	last if ($byhand = (grep { $_->{request} =~ /Hand-Typed/ } @{ recorded($r4) })[0]);
	usleep(50_000);
}
ok($byhand, 'a token typed into the URL is still sent');
usleep(1_500_000);    # a few more connect attempts and their log lines

my $activity = $node->safe_psql('postgres', q{
	SELECT string_agg(coalesce(query, '') || ' ' || coalesce(application_name, '') || ' '
	                  || coalesce(backend_type, ''), E'\n') FROM pg_stat_activity});
my $status = $node->safe_psql('postgres', q{SELECT string_agg(row_to_json(s)::text, E'\n') FROM triggerstock.ingest_status s});
my $log = slurp_file($node->logfile);
like($log, qr/connected to ws:\/\/127\.0\.0\.1:$p\/\?token=\*\*\*/, 'the connect message shows the token as ***');
like($log, qr/invalid WebSocket URL "ws:\/\/127\.0\.0\.1:99999\/": invalid port/, 'the invalid-URL error names the URL and why');
like($log, qr/source \d+: connection error/, 'the closed port gives connection errors');
like($log, qr/token=\*\*\*/, 'the hand-typed token is redacted');
for my $secret ($token, $encoded, 'Hand-Typed-Secret')
{
	my $in_log = () = $log =~ /\Q$secret\E/g;
	is($in_log, 0, "the server log never shows \"$secret\"");
	unlike($activity, qr/\Q$secret\E/, "pg_stat_activity never shows \"$secret\"");
	unlike($status, qr/\Q$secret\E/, "ingest_status never shows \"$secret\"");
}
# the log really is where these messages go (the checks above can fail)
like($log, qr/triggerstock ingest worker for source \d+ \("closed", finnhub\) started/, 'worker messages are in this log');

$r4->{handle}->kill_kill;
done_testing();
