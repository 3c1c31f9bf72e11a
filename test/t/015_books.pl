# Order books (issue 17) from real depth captures replayed by the local
# exchange (test/exchange/exchange_sim) into the ingest worker:
#  - Kraken book-1000 (10 pairs): every update's CRC32 checksum verifies
#    against the worker's book (3,413 of 3,413), and the stored samples equal
#    an independent Python reconstruction (test/python/check_books.py);
#    a checksum the exchange corrupts is caught, the pair resubscribed, its
#    fresh snapshot applied, and the book is right again afterwards;
#  - Coinbase level2 (10 products, trades on the same connection): samples
#    equal the Python reconstruction; the trades are stored as usual;
#  - Binance diff depth with the REST snapshot the local exchange derives
#    from the capture (book.c there: the replay of every diff from the first
#    one, lastUpdateId = u of the last diff replayed, 3 frames ahead of the
#    client): a diff the exchange drops is detected as a gap, a new snapshot
#    fetched, and every sample equals the reference;
#  - book_features() equals a Python recomputation from the stored samples;
#  - OFI end to end on a hand-made Coinbase sequence: the samples' OFI sums
#    to the value worked out by hand from the definition;
#  - ingest_status shows the book state; nothing becomes a dead letter
#    except the deliberate faults, which do.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $ws = "$shared/data/websocket";
my $py = "$repo/test/python/check_books.py";
my $tmp = PostgreSQL::Test::Utils::tempdir();

my $node = ingest_node('books');

# Poll until $sql returns $want (or the timeout); returns the last value.
sub wait_for
{
	my ($sql, $want, $timeout) = @_;
	my $got = '';
	for (1 .. ($timeout // 60) * 10)
	{
		$got = $node->safe_psql('postgres', $sql);
		return $got if $got eq $want;
		usleep(100_000);
	}
	return $got;
}

# Write text to a file in $tmp; returns the path.
sub put
{
	my ($name, $text) = @_;
	open(my $f, '>', "$tmp/$name") or die;
	print $f $text;
	close $f;
	return "$tmp/$name";
}

# The stored samples of a source's exchange as JSON (for check_books.py).
sub rows_json
{
	my ($exchange) = @_;
	return put("rows-$exchange.json", $node->safe_psql('postgres', qq{
		SELECT coalesce(json_agg(json_build_object(
		    'instrument', instrument, 'ts_us', (extract(epoch FROM ts) * 1000000)::int8,
		    'event_us', (extract(epoch FROM event_ts) * 1000000)::int8,
		    'bid_price', bid_price, 'bid_qty', bid_qty, 'ask_price', ask_price, 'ask_qty', ask_qty,
		    'ofi', ofi, 'updates', updates, 'resyncs', resyncs) ORDER BY instrument, ts), '[]')
		FROM triggerstock.book_snapshots WHERE exchange = '$exchange'}));
}

# check_books.py rows ...: (compared, ambiguous, unmatched, mismatched, output)
sub check_rows
{
	my ($format, $capture, $rows, $depth) = @_;
	my $out = `/usr/bin/python3 $py rows $format '$capture' '$rows' $depth 2>&1`;
	my @n = $out =~ /compared (\d+) ambiguous (\d+) unmatched (\d+) mismatched (\d+)/;
	return (@n ? @n : (0, 0, 0, -1), $out);
}

sub stop_source
{
	my ($id, $x) = @_;
	$node->safe_psql('postgres', "UPDATE triggerstock.sources SET enabled = false WHERE id = $id");
	stop_exchange($x);
	# one symbol, one market (issue 10): the next source may feed its symbols
	$node->safe_psql('postgres', "DELETE FROM triggerstock.sources WHERE id = $id");
}

# ---- Kraken book-1000: every checksum ---------------------------------------

my $kraken = "$ws/kraken/spot_v1_book1000_2021-04-17.jsonl";
my %pairs;
for (split /\n/, `cat '$kraken'`)
{
	$pairs{$1} = 1 if /"book-1000","([^"]+)"\]$/;
}
my $pairlist = join(',', map { "'$_'" } sort keys %pairs);
is(scalar(keys %pairs), 10, 'kraken capture: 10 pairs');

my $x = start_exchange(exchange => 'kraken', replay => $kraken, rate => 1500, hold => undef);
my $kid = $node->safe_psql('postgres', qq{
	SELECT add_source('kraken-book', 'kraken', 'ws://127.0.0.1:$x->{port}', ARRAY[$pairlist],
	                  options => '{"book": true, "trades": false, "book_depth": 1000, "book_interval_ms": 200}')});
is(wait_for("SELECT sum(checksum_ok) FROM triggerstock.book_status WHERE source = $kid", '3413', 40),
	'3413', 'kraken: all 3413 checksums of the capture verified by the worker');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE state = 'synced'), sum(checksum_failures), sum(resyncs), sum(gaps),
	       sum(levels_evicted + levels_refused), sum(skipped)
	FROM triggerstock.book_status WHERE source = $kid}), '10|0|0|0|0|0',
	'kraken: 10 books synced, no checksum failure, resync, gap, cap or skip');
# one more sample after the last update, then compare every sample
usleep(500_000);
my ($cmp, $amb, $unm, $bad, $out) = check_rows('kraken', $kraken, rows_json('kraken'), 1000);
ok($bad == 0 && $cmp >= 50, "kraken: samples equal the Python reconstruction ($out)");
is($node->safe_psql('postgres', qq{
	SELECT books, books_synced, book_resyncs, book_gaps, book_checksum_failures
	FROM triggerstock.ingest_status WHERE source = $kid}), '10|10|0|0|0', 'kraken: ingest_status book columns');
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.dead_letters WHERE source = $kid"),
	'0', 'kraken: no dead letters');
stop_source($kid, $x);

# ---- Kraken: a corrupted checksum is caught and repaired ---------------------

$node->safe_psql('postgres', q{TRUNCATE triggerstock.book_snapshots});
my @klines = split /\n/, `cat '$kraken'`;
my $victim = (grep { $klines[$_] =~ /"c":"/ && $klines[$_] =~ /XMR\/USD/ } (int(@klines / 3) .. $#klines))[0];
$x = start_exchange(exchange => 'kraken', replay => $kraken, rate => 1500, hold => undef,
	'corrupt-checksum' => $victim);
my $kid2 = $node->safe_psql('postgres', qq{
	SELECT add_source('kraken-book-2', 'kraken', 'ws://127.0.0.1:$x->{port}', ARRAY[$pairlist],
	                  options => '{"book": true, "trades": false, "book_depth": 1000, "book_interval_ms": 200}')});
# Done when the failure was seen and every pair is synced again after it (the
# simulator drops the pair's updates between the unsubscribe and the
# subscribe, so how many updates arrive in total depends on timing).
wait_for(qq{SELECT sum(checksum_failures) >= 1 AND sum(snapshots) >= 11
	       AND count(*) FILTER (WHERE state = 'synced') = 10
	FROM triggerstock.book_status WHERE source = $kid2}, 't', 40);
usleep(500_000);
is($node->safe_psql('postgres', qq{
	SELECT checksum_failures, resyncs, snapshot_requests, snapshots, state
	FROM triggerstock.book_status WHERE source = $kid2 AND instrument = 'XMR/USD'}), '1|1|1|2|synced',
	'kraken: the corrupted checksum failed once, the pair was resubscribed and took a fresh snapshot');
is($node->safe_psql('postgres', qq{
	SELECT sum(checksum_failures), sum(resyncs), count(*) FILTER (WHERE state = 'synced')
	FROM triggerstock.book_status WHERE source = $kid2}), '1|1|10', 'kraken: the other pairs were untouched');
like($node->safe_psql('postgres', "SELECT error FROM triggerstock.dead_letters WHERE source = $kid2"),
	qr/^book XMR\/USD: book checksum mismatch: exchange \d+, reconstructed \d+; resubscribing$/,
	'kraken: the mismatch is a dead letter with its frame');
($cmp, $amb, $unm, $bad, $out) = check_rows('kraken', $kraken, rows_json('kraken'), 1000);
ok($bad == 0 && $cmp >= 50, "kraken: every sample, before and after the resync, equals the reference ($out)");
stop_source($kid2, $x);

# ---- Coinbase level2 ---------------------------------------------------------

my $cb = "$ws/coinbase/exchange_wsfeed_level2_ticker_matches_2021-04-17.jsonl";
my %products;
for (split /\n/, `cat '$cb'`)
{
	$products{$1} = 1 if /"type":"snapshot","product_id":"([^"]+)"/;
}
my $plist = join(',', map { "'$_'" } sort keys %products);
# one symbol, one market (issue 10): BAND-BTC and BAND-GBP are two markets,
# so each product is its own symbol
my $exp = expected_trades('coinbase', $cb);
my $ntrades = 0;
$ntrades += $exp->{$_}{n} for keys %$exp;
$x = start_exchange(exchange => 'coinbase', replay => $cb, rate => 2000, hold => undef);
my $cid = $node->safe_psql('postgres', qq{
	SELECT add_source('coinbase-book', 'coinbase', 'ws://127.0.0.1:$x->{port}', ARRAY[$plist],
	                  symbols => ARRAY[$plist], options => '{"book": true, "book_interval_ms": 200}')});
is(wait_for("SELECT sum(messages) FROM triggerstock.book_status WHERE source = $cid", '7804', 40),
	'7804', 'coinbase: all 7804 l2updates applied');
usleep(500_000);
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE state = 'synced'), sum(snapshots), sum(resyncs), sum(crossed), sum(skipped)
	FROM triggerstock.book_status WHERE source = $cid}), '10|10|0|0|0',
	'coinbase: 10 books synced from 10 snapshots, never crossed');
($cmp, $amb, $unm, $bad, $out) = check_rows('coinbase', $cb, rows_json('coinbase'), 0);
ok($bad == 0 && $cmp >= 50, "coinbase: samples equal the Python reconstruction ($out)");
is(wait_for_trades($node, "exchange = 'coinbase'", $ntrades, 30), $ntrades,
	"coinbase: the $ntrades trades of the same connection stored as well");
is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.dead_letters WHERE source = $cid"),
	'0', 'coinbase: no dead letters');

stop_source($cid, $x);

# ---- book_features() = Python over the stored samples -----------------------

my $feats = put('features.json', $node->safe_psql('postgres', q{
	SELECT json_agg(json_build_object('bucket_us', (extract(epoch FROM bucket) * 1000000)::int8,
	    'spread', spread, 'mid', mid, 'microprice', microprice, 'imbalance_1', imbalance_1,
	    'imbalance_5', imbalance_5, 'imbalance_10', imbalance_10, 'ofi', ofi, 'updates', updates,
	    'resyncs', resyncs, 'snapshots', snapshots) ORDER BY bucket)
	FROM book_features('DASH-BTC', '1 second')}));
my $dash = put('rows-dash.json', $node->safe_psql('postgres', q{
	SELECT json_agg(json_build_object('instrument', instrument,
	    'ts_us', (extract(epoch FROM ts) * 1000000)::int8,
	    'bid_price', bid_price, 'bid_qty', bid_qty, 'ask_price', ask_price, 'ask_qty', ask_qty,
	    'ofi', ofi, 'updates', updates, 'resyncs', resyncs))
	FROM triggerstock.book_snapshots WHERE symbol = 'DASH-BTC'}));
$out = `/usr/bin/python3 $py features 1000000 '$dash' '$feats' 2>&1`;
like($out, qr/^buckets ([1-9]\d*) mismatched 0$/m,
	"book_features('DASH-BTC', '1 second') equals the Python recomputation: $out");

# ---- Binance diff depth + REST snapshot, one diff dropped --------------------

my @bn = grep { length } split /\n/, `gzip -dc '$ws/binance/spot_btcusdt_depth100ms_2024-08-08T2354Z_0005Z.jsonl.gz'`;
my $bfile = put('binance-depth.jsonl', join("\n", @bn[0 .. 1499]) . "\n");
$x = start_exchange(exchange => 'binance', replay => $bfile, rate => 500, hold => undef,
	'drop-frame' => 700);
my $bid = $node->safe_psql('postgres', qq{
	SELECT add_source('binance-book', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'],
	                  options => '{"book": true, "trades": false, "book_interval_ms": 200,
	                               "book_rest_url": "http://127.0.0.1:$x->{port}/api/v3/depth"}')});
my $lastE = $bn[1499] =~ /"E":(\d+)/ ? $1 : 0;
is(wait_for(qq{SELECT (extract(epoch FROM last_event_at) * 1000)::int8 FROM triggerstock.book_status
	WHERE source = $bid}, $lastE, 40), $lastE, 'binance: the last diff of the replay was applied');
usleep(500_000);
is($node->safe_psql('postgres', qq{
	SELECT state, gaps, resyncs, snapshots, snapshot_requests >= 2, messages > 1400
	FROM triggerstock.book_status WHERE source = $bid}), 'synced|1|1|2|t|t',
	'binance: the dropped diff was a gap, resynchronised from a second REST snapshot');
like($node->safe_psql('postgres', "SELECT string_agg(error, ',') FROM triggerstock.dead_letters WHERE source = $bid"),
	qr/^book BTCUSDT: depth gap: book at update \d+, diff U=\d+ u=\d+ pu=-1; resynchronising$/,
	'binance: the gap is a dead letter');
($cmp, $amb, $unm, $bad, $out) = check_rows('binance', $bfile, rows_json('binance'), 0);
ok($bad == 0 && $cmp >= 10, "binance: every sample equals the replay of the capture ($out)");
is($node->safe_psql('postgres', qq{SELECT books_synced, book_gaps, book_resyncs
	FROM triggerstock.ingest_status WHERE source = $bid}), '1|1|1', 'binance: ingest_status book columns');
stop_source($bid, $x);

# the REST snapshot passes triggerstock.allowed_hosts like every destination:
# 127.0.0.2 is a loopback address the list (127.0.0.1) does not name
$x = start_exchange(exchange => 'binance', replay => put('binance-short.jsonl', join("\n", @bn[0 .. 99]) . "\n"),
	rate => 50, hold => undef);
my $rid = $node->safe_psql('postgres', qq{
	SELECT add_source('binance-book-refused', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY['BTCUSDT'],
	                  options => '{"book": true, "trades": false,
	                               "book_rest_url": "http://127.0.0.2:$x->{port}/api/v3/depth"}')});
like(wait_for(qq{SELECT count(*) > 0 FROM triggerstock.dead_letters WHERE source = $rid}, 't', 30)
	. ' ' . $node->safe_psql('postgres', qq{SELECT min(error) FROM triggerstock.dead_letters WHERE source = $rid}),
	qr/^t book BTCUSDT: REST depth snapshot: destination not allowed: /,
	'binance: a REST snapshot URL outside triggerstock.allowed_hosts is refused before connecting');
is($node->safe_psql('postgres', qq{SELECT state, snapshots FROM triggerstock.book_status WHERE source = $rid}),
	'waiting|0', 'binance: without an allowed snapshot the book waits');
stop_source($rid, $x);

# ---- OFI end to end on a hand-made sequence ------------------------------------

# Best levels after each message, and e_n from Cont, Kukanov and Stoikov's
# definition worked out by hand:
#   snapshot   bid 100 x 5   ask 101 x 4    (first observation: 0)
#   update 1   bid 100 x 7   ask 101 x 4    e = 7 - 5 - 4 + 4       =  2
#   update 2   bid 100.5 x 1 ask 101 x 3    e = 1 - 0 - 3 + 4       =  2
#   update 3   bid 100 x 6   ask 100.8 x 2  e = 0 - 1 - 2 + 0       = -3
#   update 4   bid 99 x 3    ask 101.2 x 1  e = 0 - 6 - 0 + 2       = -4
# total -3, over 4 messages.
my $t0 = '2021-04-17T16:43:3';
my $hand = put('ofi.jsonl', join("\n",
	'{"type":"subscriptions","channels":[{"name":"level2","product_ids":["OFI-USD"]}]}',
	'{"type":"snapshot","product_id":"OFI-USD","bids":[["100","5"],["99","9"]],"asks":[["101","4"],["102","9"]]}',
	qq({"type":"l2update","product_id":"OFI-USD","changes":[["buy","100","7"]],"time":"${t0}1.000000Z"}),
	qq({"type":"l2update","product_id":"OFI-USD","changes":[["buy","100.5","1"],["sell","101","3"]],"time":"${t0}2.000000Z"}),
	qq({"type":"l2update","product_id":"OFI-USD","changes":[["buy","100.5","0"],["buy","100","6"],["sell","100.8","2"]],"time":"${t0}3.000000Z"}),
	qq({"type":"l2update","product_id":"OFI-USD","changes":[["buy","100","0"],["buy","99","3"],["sell","100.8","0"],["sell","101","0"],["sell","101.2","1"]],"time":"${t0}4.000000Z"}))
	. "\n");
$x = start_exchange(exchange => 'coinbase', replay => $hand, rate => 8, hold => undef);
my $oid = $node->safe_psql('postgres', qq{
	SELECT add_source('ofi', 'coinbase', 'ws://127.0.0.1:$x->{port}', ARRAY['OFI-USD'],
	                  options => '{"book": true, "trades": false, "book_interval_ms": 100}')});
wait_for("SELECT messages FROM triggerstock.book_status WHERE source = $oid", '4', 30);
usleep(400_000);
is($node->safe_psql('postgres', q{
	SELECT sum(ofi), sum(updates), count(*) > 3 FROM triggerstock.book_snapshots WHERE instrument = 'OFI-USD'}),
	'-3|4|t', 'OFI: the samples sum to the hand-computed -3 over 4 messages');
is($node->safe_psql('postgres', q{
	SELECT bid_price[1], bid_qty[1], ask_price[1], ask_qty[1], array_length(bid_price, 1)
	FROM triggerstock.book_snapshots WHERE instrument = 'OFI-USD' ORDER BY ts DESC LIMIT 1}),
	'99|3|101.2|1|1', 'OFI: the last sample holds the final best levels');
stop_source($oid, $x);

# ---- retention and partitions take the books along ---------------------------

ok($node->safe_psql('postgres', q{SELECT count(*) FROM book_partitions()}) >= 1,
	'the worker created a daily book_snapshots partition');
$node->safe_psql('postgres', 'SELECT maintain()');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM book_partitions()}) >= 8,
	'maintain() creates book partitions ahead, like trade partitions');
my $kept = $node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.book_snapshots');
$node->safe_psql('postgres', q{
	SELECT create_book_partitions('2020-01-01', '2020-01-01');
	INSERT INTO triggerstock.book_snapshots
	VALUES ('x', 'OLD', 'OLD', '2020-01-01 12:00+00', NULL, '{1}', '{1}', '{2}', '{1}', 0, 0, 0)});
is($node->safe_psql('postgres', q{SELECT string_agg(partition_name, ',') FROM retention('30 days')
	WHERE partition_name LIKE 'triggerstock.book%'}),
	'triggerstock.book_snapshots_p20200101', 'retention() drops old book partitions with the trades');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.book_snapshots'), $kept,
	'recent samples are kept');

done_testing();
