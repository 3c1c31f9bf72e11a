# REST backfill jobs against the local exchange test/backfill_server.py, which
# serves the real REST dumps and captures of ../shared/data with each
# exchange's pagination:
#  - Binance aggTrades through a 429 with Retry-After, a 500, a truncated body,
#    a repeated page and a 418: the stored trades equal the ccxt dump's own parse,
#    every field; their candles equal an aggregation of them done here; a
#    second identical job stores nothing;
#  - Binance historicalTrades (the seek page, then fromId): the server is
#    crashed (pg_ctl stop -m immediate) mid-job; the job resumes from its
#    committed cursor: every trade once;
#  - backfill_cancel; Coinbase trades (newest first, "after") and Kraken
#    trades ("since"/"last"), every field;
#  - candles: Binance klines (USD-M), Coinbase candles, Kraken OHLC, marked
#    with their origin, never over a candle computed from trades;
#  - hostile answers end the job with a clear error: endless pages whose
#    time never advances, a 20 MB page, times going backwards, a page longer
#    than asked, HTTP 400, 500 until max_errors;
#  - triggerstock.allowed_hosts (127.0.0.1 here): a redirect is followed by
#    the poll worker itself, its target checked like the first URL; a job
#    whose base URL or redirect names a host not allowed fails with the
#    reason.
use strict;
use warnings;
use JSON::PP;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IngestTest;
use BackfillTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $data = "$shared/data";
my $state = PostgreSQL::Test::Utils::tempdir();
my $url = start_backfill_server($state);
# maintain() runs only at the launcher's start: the partitions of the
# jobs' days can only come from the pages' stores
my $node = ingest_node('backfill', "triggerstock.poll_max_body = '4MB'\ntriggerstock.maintenance_naptime = 86400\n");

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub job
{
	my ($args) = @_;
	return sql("SELECT backfill($args)");
}

sub slurp_json { return decode_json(slurp_file($_[0])); }

# --- 1. Binance aggTrades through faults ------------------------------------
my $ccxt = slurp_json("$data/trades/binance_xrpeth_aggtrades_ccxt_2019-10-11.json");
my ($from_ms, $to_ms) = (1570773600000, 1570851000500);
my @exp = map { [ $_->{id}, $_->{timestamp} * 1000, $_->{price}, $_->{amount}, $_->{side} ] }
  grep { $_->{timestamp} >= $from_ms && $_->{timestamp} < $to_ms } @$ccxt;
is(scalar(@exp), 4221, 'the range holds 4,221 trades of the dump');

set_faults($state, { 2 => '429', 4 => '500', 5 => 'truncate', 7 => 'repeat', 9 => '418', retry_after => 1 });
my $id = job(qq{'binance', 'XRPETH', '2019-10-11 06:00+00', '2019-10-12 03:30:00.5+00', base_url => '$url',
	options => '{"min_interval_ms": 0}'});
my $row = wait_job($node, $id, 60);
is($row->{state}, 'done', "aggTrades job done ($row->{last_error})");
is($row->{rows}, 4221, 'aggTrades: the job stored 4,221 trades');
is($row->{errors}, 5, 'aggTrades: the 429, the 500, the truncated body, the repeated page and the 418 were retried');
is($row->{progress}, 1, 'aggTrades: progress 1');
is(sql("SELECT endpoint || ' ' || symbol FROM triggerstock.backfills WHERE id = $id"), 'binance_aggtrades XRP',
	'aggTrades: endpoint and default symbol');
my $got = db_trades($node, "instrument = 'XRPETH'");
is_deeply($got, [ map { join '|', $_->[0], $_->[1], $_->[2] + 0, $_->[3] + 0, $_->[4] } @exp ],
	'aggTrades: every stored trade equals the dump (id, time, price, qty, side), each once')
  or diag("got " . scalar(@$got) . " rows");
compare_candles($node, 'XRP', expected_candles([ map { [ @$_[0 .. 3] ] } @exp ]), 'aggTrades');
is(misplaced_trades($node, "instrument = 'XRPETH'"), '0 0',
	"aggTrades: every trade sits in its UTC day's partition (two days), created by the pages' stores");
my @log = map { [ split / / ] } split /\n/, slurp_file("$state/requests.log");
my ($i429) = grep { $log[$_][1] == 429 } 0 .. $#log;
ok(defined $i429 && $log[ $i429 + 1 ][0] - $log[$i429][0] >= 0.95,
	'aggTrades: the request after the 429 waited for its Retry-After of 1 s ('
	  . sprintf('%.2f s', $log[ $i429 + 1 ][0] - $log[$i429][0]) . ')');
ok(!grep({ $_->[2] =~ /fromId/ && $_->[2] =~ /startTime/ } @log), 'aggTrades: fromId and startTime never mixed');

set_faults($state, {});
my $again = job(qq{'binance', 'XRPETH', '2019-10-11 06:00+00', '2019-10-12 03:30:00.5+00', base_url => '$url',
	options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $again, 60);
is("$row->{state} $row->{rows}", 'done 0', 'the same job again stores nothing (idempotent)');
is(sql("SELECT count(*) FROM triggerstock.trades WHERE instrument = 'XRPETH'"), 4221, 'still 4,221 trades');

# --- 2. historicalTrades, crash mid-job, resume from the cursor -------------
my @spot = map { decode_json($_)->{data} }
  grep { length } split /\n/, slurp_file("$data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl");
$id = job(qq{'binance', 'BTCUSDT', '2024-08-08 23:54:00+00', '2024-08-09 00:10:00+00', symbol => 'BTC-SPOT',
	base_url => '$url', options => '{"ids": "trade", "limit": 400, "min_interval_ms": 60}'});
for (1 .. 300)
{
	last if sql("SELECT pages FROM triggerstock.backfills WHERE id = $id") >= 8;
	usleep(50_000);
}
my $before = sql("SELECT pages || ' ' || rows FROM triggerstock.backfills WHERE id = $id");
$node->stop('immediate');
$node->start;
$row = wait_job($node, $id, 90);
is($row->{state}, 'done', "historicalTrades: done after the crash (pages, rows before it: $before)");
is($row->{rows}, 15923, 'historicalTrades: the rows committed with the cursor add up to the capture');
$got = db_trades($node, "symbol = 'BTC-SPOT'");
is_deeply($got, [ map { join '|', $_->{t}, $_->{T} * 1000, $_->{p} + 0, $_->{q} + 0, $_->{m} ? 'sell' : 'buy' } @spot ],
	'historicalTrades: every trade of the capture once, every field');
is(sql("SELECT endpoint FROM triggerstock.backfills WHERE id = $id"), 'binance_trades', 'ids => trade: historicalTrades');

# --- 3. cancel, Coinbase trades, Kraken trades ------------------------------
$id = job(qq{'coinbase', 'BTC-USD', '2016-05-12 15:00+00', '2016-05-12 16:00+00', base_url => '$url',
	options => '{"limit": 100, "min_interval_ms": 1500}'});
for (1 .. 100) { last if sql("SELECT rows FROM triggerstock.backfills WHERE id = $id") > 0; usleep(100_000); }
is(sql("SELECT backfill_cancel($id)"), 't', 'backfill_cancel of a running job');
my $rows = sql("SELECT rows FROM triggerstock.backfills WHERE id = $id");
sleep 2;
is(sql("SELECT state || ' ' || rows FROM triggerstock.backfills WHERE id = $id"), "cancelled $rows",
	'cancelled: it stores nothing more');
is(sql("SELECT backfill_cancel($id)"), 'f', 'backfill_cancel of a cancelled job: false');

my @cb = map { decode_json($_) } grep { length } split /\n/, slurp_file("$data/trades/coinbase_btcusd_rest_trades_2016-05-12.jsonl");
$id = job(qq{'coinbase', 'BTC-USD', '2016-05-12 15:10+00', '2016-05-12 15:40+00', base_url => '$url',
	options => '{"limit": 100, "min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
my @cbexp = sort { $a->[1] <=> $b->[1] || $a->[0] <=> $b->[0] }
  grep { $_->[1] >= rfc3339_us('2016-05-12T15:10:00Z') && $_->[1] < rfc3339_us('2016-05-12T15:40:00Z') }
  map { [ $_->{trade_id}, rfc3339_us($_->{time}), $_->{price} + 0, $_->{size} + 0, $_->{side} eq 'buy' ? 'sell' : 'buy' ] } @cb;
is($row->{state}, 'done', "coinbase trades done ($row->{last_error})");
is_deeply(db_trades($node, "instrument = 'BTC-USD' AND ts >= '2016-05-12 15:10+00' AND ts < '2016-05-12 15:40+00'"),
	[ map { join '|', @$_ } @cbexp ], 'coinbase trades: every trade of the range, every field (side: taker)');
# the candles of the backfilled trades (cancelled job's pages and this range)
# equal an aggregation, done here, of the stored trades
compare_candles($node, 'BTC', expected_candles([ map { [ (split /\|/)[0 .. 3] ] } @{ db_trades($node, "symbol = 'BTC'") } ]),
	'coinbase trades');

my $kt = slurp_json("$data/trades/kraken_xbtusdt_rest_trades_2025-11-10.json")->{result}{XBTUSDT};
$id = job(qq{'kraken', 'XBTUSDT', '2025-11-10 00:00+00', '2025-11-11 00:00+00', symbol => 'XBT-K',
	base_url => '$url', options => '{"limit": 150, "min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
is("$row->{state} $row->{rows}", 'done 800', "kraken trades: all 800 ($row->{last_error})");
is_deeply(db_trades($node, "symbol = 'XBT-K'"),
	[ map { join '|', $_->[6], int($_->[2] * 1e6 + 0.5), $_->[0] + 0, $_->[1] + 0, $_->[3] eq 'b' ? 'buy' : 'sell' }
	  sort { $a->[2] <=> $b->[2] || $a->[6] <=> $b->[6] } @$kt ], 'kraken trades: every field');
compare_candles($node, 'XBT-K', expected_candles([ map { [ $_->[6], int($_->[2] * 1e6 + 0.5), $_->[0], $_->[1] ] } @$kt ]),
	'kraken trades');

# generic: the Binance aggTrades endpoint through a URL template and a field map
$id = job(qq{'generic', 'XRPETH', NULL, NULL, symbol => 'XRP-G', from_id => 13520000, to_id => 13521499,
	options => '{"url": "$url/api/v3/aggTrades?symbol={instrument}&fromId={from_id}&limit={limit}",
	             "next_url": "$url/api/v3/aggTrades?symbol={instrument}&fromId={cursor}&limit={limit}",
	             "cursor": "id", "limit": 400, "min_interval_ms": 0,
	             "map": {"price": "p", "qty": "q", "ts": "T", "ts_unit": "ms", "trade_id": "a",
	                     "side": "m", "side_mode": "maker"}}'});
$row = wait_job($node, $id, 60);
is("$row->{state} $row->{rows} $row->{pages}", 'done 1500 4', "generic: ids 13520000..13521499 in 4 pages ($row->{last_error})");
is_deeply(db_trades($node, "symbol = 'XRP-G'"),
	[ map { join '|', $_->{id}, $_->{timestamp} * 1000, $_->{price} + 0, $_->{amount} + 0, $_->{side} }
	  grep { $_->{id} >= 13520000 && $_->{id} <= 13521499 } @$ccxt ], 'generic: every field');

# --- 4. candles --------------------------------------------------------------
my $ohlc = slurp_json("$data/candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json")->{result}{XBTUSDT};
my @traded = grep { $_->[7] > 0 } @$ohlc;
# a minute with a candle computed from trades is never overwritten
sql(qq{INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty)
	VALUES ('test', 'X', 'XBT-B', 1, to_timestamp($traded[0][0] + 5), 1, 1);
	SELECT refresh_candles('-infinity')});
$id = job(qq{'binance', 'XBTUSDT', '2025-11-10 00:00+00', '2025-11-11 00:00+00', kind => 'candles', market => 'usdm',
	symbol => 'XBT-B', base_url => '$url', options => '{"limit": 100, "min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
is("$row->{state} $row->{rows}", 'done ' . (@traded - 1), "klines: the traded minutes but the one from trades ($row->{last_error})");
my %kl = map { my @f = split /\|/; (shift(@f) => join('|', @f)) } split /\n/, sql(q{
	SELECT extract(epoch FROM bucket)::bigint, open, high, low, close, volume, vwap, trades, origin,
	       open_time = bucket, close_time = bucket + interval '59.999 s'
	FROM triggerstock.candles WHERE symbol = 'XBT-B'});
my @bad;
for my $c (@traded)
{
	my $want = $c == $traded[0] ? '1|1|1|1|1|1|1|trades|f|f'
	  : join('|', map({ $_ + 0 } @$c[1 .. 4]), $c->[6] + 0, 0 + ($c->[5] * $c->[6]) / $c->[6], $c->[7], 'rest:binance_klines', 't', 't');
	my @g = split /\|/, ($kl{ $c->[0] } // '');
	my @w = split /\|/, $want;
	push @bad, "$c->[0]: @g (want $want)"
	  if @g != @w || grep({ $g[$_] ne $w[$_] && !($_ == 5 && abs($g[$_] - $w[$_]) <= 1e-9 * $w[$_]) } 0 .. $#w);
}
push @bad, 'candles of untraded minutes stored' if keys(%kl) != @traded;
is(join('; ', @bad[0 .. ($#bad > 3 ? 3 : $#bad)]), '', 'klines: every field of every candle (vwap = quote volume / volume)');

$id = job(qq{'kraken', 'XBTUSDT', '2025-11-10 00:00+00', '2025-11-11 00:00+00', kind => 'candles', symbol => 'XBT-KO',
	base_url => '$url', options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
is("$row->{state} $row->{rows}", 'done ' . scalar(@traded), "kraken OHLC: the traded minutes ($row->{last_error})");
is(sql("SELECT count(*) FROM triggerstock.candles k JOIN triggerstock.candles b ON b.bucket = k.bucket AND b.symbol = 'XBT-B'
      WHERE k.symbol = 'XBT-KO' AND k.origin = 'rest:kraken_ohlc' AND b.origin <> 'trades'
        AND (k.open, k.high, k.low, k.close, k.volume, k.trades) = (b.open, b.high, b.low, b.close, b.volume, b.trades)
        AND abs(k.vwap - b.vwap) <= 1e-9 * b.vwap"), @traded - 1, 'kraken OHLC equals the klines of the same data');

my @lean = map { [ split /,/ ] } split /\n/, slurp_file("$data/candles/crypto/coinbase_ethusd_1m_lean/20170903_ethusd_minute_trade.csv");
$id = job(qq{'coinbase', 'ETH-USD', '2017-09-03 00:00+00', '2017-09-04 00:00+00', kind => 'candles',
	base_url => '$url', options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
my @lean_traded = grep { $_->[5] > 0 } @lean;
is("$row->{state} $row->{rows}", 'done ' . scalar(@lean_traded), "coinbase candles: a day ($row->{last_error})");
is(sql("SELECT string_agg(concat_ws(',', (extract(epoch FROM bucket - '2017-09-03 00:00+00') * 1000)::bigint,
                                  open, high, low, close, volume), ';' ORDER BY bucket)
      FROM triggerstock.candles WHERE symbol = 'ETH' AND origin = 'rest:coinbase_candles' AND vwap IS NULL AND trades = 0"),
	join(';', map { join ',', $_->[0], map { $_ + 0 } @$_[1 .. 5] } @lean_traded), 'coinbase candles: every field');

# --- 5. hostile answers -----------------------------------------------------
my %hostile = (
	ENDLESS => qr/trade times did not advance for 100 pages/,
	HUGE => qr/page larger than triggerstock.poll_max_body/,
	BACKWARDS => qr/trade times go backwards/,
	LONGPAGE => qr/page holds 105 rows, more than the 100 asked for/,
	NOPE => qr/HTTP 400: .*Invalid symbol/);
for my $sym (sort keys %hostile)
{
	$id = job(qq{'binance', '$sym', '2019-10-11 00:00+00', '2019-10-12 00:00+00', base_url => '$url',
		options => '{"limit": 100, "min_interval_ms": 0, "ids": "agg"}', from_id => 1, to_id => 1000000000});
	$row = wait_job($node, $id, 60);
	ok($row->{state} eq 'failed' && $row->{last_error} =~ $hostile{$sym}, "hostile $sym: failed with \"$row->{last_error}\"");
}
set_faults($state, { map { $_ => '500' } 1 .. 10 });
$id = job(qq{'binance', 'XRPETH', '2019-10-11 00:00+00', '2019-10-11 01:00+00', symbol => 'X5', base_url => '$url',
	options => '{"max_errors": 3, "min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
ok($row->{state} eq 'failed' && $row->{errors} == 3 && $row->{last_error} =~ /HTTP 500.*\(3 errors in a row\)/,
	"HTTP 500 three times with max_errors 3: failed with \"$row->{last_error}\"");
set_faults($state, {});

# --- 6. allowed_hosts and redirects -------------------------------------------
my $range = q{'2019-10-11 06:00+00', '2019-10-11 06:05+00'};
unlink "$state/requests.log";
set_faults($state, { 1 => 'redirect' });
$id = job(qq{'binance', 'XRPETH', $range, symbol => 'R1', base_url => '$url', options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
is("$row->{state} $row->{errors}", 'done 0', "a redirect to an allowed host is followed ($row->{last_error})");
@log = map { [ split / / ] } split /\n/, slurp_file("$state/requests.log");
ok(@log >= 2 && $log[0][1] == 302 && $log[1][1] == 200 && $log[0][2] eq $log[1][2],
	'redirect: the same page asked again at its Location');
set_faults($state, { 1 => 'redirect-out' });
$id = job(qq{'binance', 'XRPETH', $range, symbol => 'R2', base_url => '$url', options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
ok($row->{state} eq 'failed' && $row->{errors} == 1
	  && $row->{last_error} =~ /^destination not allowed: host "localhost" is not in triggerstock\.allowed_hosts/,
	"a redirect to a host not allowed fails the job at once (no retry): \"$row->{last_error}\"");
set_faults($state, {});
(my $localhost_url = $url) =~ s/127\.0\.0\.1/localhost/;
$id = job(qq{'binance', 'XRPETH', $range, symbol => 'R3', base_url => '$localhost_url', options => '{"min_interval_ms": 0}'});
$row = wait_job($node, $id, 60);
ok($row->{state} eq 'failed' && $row->{pages} == 0
	  && $row->{last_error} =~ /^destination not allowed: host "localhost" is not in triggerstock\.allowed_hosts/,
	"a base URL whose host is not allowed fails the job before any request: \"$row->{last_error}\"");

is(sql("SELECT count(*) FROM triggerstock.worker_plan WHERE kind = 'poll'"), 0, 'no job left: no poll worker planned');
$node->stop;
done_testing();
