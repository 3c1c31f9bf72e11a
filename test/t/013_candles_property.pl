# Property: every stored 1-minute candle equals ohlcv(ts, price, qty,
# trade_id) over its stored trades, in every field (open and close, their
# times and seqs, high, low, volume, vwap, trades, the exact sums), whatever
# the flush boundaries.  Real Binance captures full of tied timestamps
# (USD-M and spot trades: up to hundreds of trades in one millisecond; COIN-M
# and USD-M aggTrades) are replayed by the local exchange with randomized
# settings, several times over the same data:
#  - batch_size 1 to 10,000 (log-uniform) and flush_ms 1 to 200, so both the
#    COPY path (64+ trades) and the statement path run, ties split across
#    flushes;
#  - frames sharing a trade time shuffled, a random share of frames held
#    back and sent after everything else (late trades into old minutes),
#    connections dropped and resumed with an overlap, whole captures
#    replayed again by a second source of the same market (duplicates);
#  - spot and USD-M BTCUSDT side by side: same instrument name, two markets.
# After every round: every candle against ohlcv() over its trades and
# against a plain-SQL reference (open/close by (ts, trade_id) with
# array_agg), rollup() and candles(width) against direct aggregation.
# TRIGGERSTOCK_PROPERTY_SEED=N reproduces a run.
use strict;
use warnings;
use List::Util qw(shuffle min);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use JSON::PP;
use IngestTest;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $ws = "$shared/data/websocket/binance";
my $seed = length($ENV{TRIGGERSTOCK_PROPERTY_SEED} // '') ? $ENV{TRIGGERSTOCK_PROPERTY_SEED}
  : int(time() * 1000) % 1000000007;
srand($seed);
note("seed $seed (TRIGGERSTOCK_PROPERTY_SEED=$seed reproduces this run)");
my $started = time();

my $node = ingest_node('candles_property');
my $dir = PostgreSQL::Test::Utils::tempdir();

# A capture as a list of [line, instrument, trade time, trade key] (key undef
# for control frames).
sub load_capture
{
	my ($file, $event) = @_;
	open(my $f, '<', $file) or die "$file: $!";
	my @frames;
	while (my $line = <$f>)
	{
		chomp $line;
		my $j = eval { decode_json($line) } or next;
		my $d = ref $j eq 'HASH' ? $j->{data} : undef;
		next unless $d && ($d->{e} // '') eq $event;
		push @frames, [ $line, $d->{s}, $d->{T}, $d->{s} . "\0" . ($d->{t} // $d->{a}) . "\0" . $d->{T} ];
	}
	close $f;
	return \@frames;
}

# Shuffle every run of consecutive frames with the same trade time.
sub shuffle_ties
{
	my ($frames) = @_;
	my @out;
	my $i = 0;
	while ($i < @$frames)
	{
		my $j = $i;
		$j++ while $j + 1 < @$frames && $frames->[ $j + 1 ][2] == $frames->[$i][2];
		push @out, shuffle(@$frames[ $i .. $j ]);
		$i = $j + 1;
	}
	return \@out;
}

# Hold back a share of the frames: returns (on time, late).
sub hold_back
{
	my ($frames, $share) = @_;
	my (@now, @late);
	push @{ rand() < $share ? \@late : \@now }, $_ for @$frames;
	return (\@now, \@late);
}

my $nfile = 0;
sub write_frames
{
	my ($frames) = @_;
	my $path = "$dir/frames" . $nfile++ . '.jsonl';
	open(my $f, '>', $path) or die;
	print $f "$_->[0]\n" for @$frames;
	close $f;
	return $path;
}

# Distinct trade keys of some frames.
sub distinct_keys
{
	my %k;
	$k{ $_->[3] } = 1 for map { @$_ } @_;
	return scalar keys %k;
}

# A batch size from 1 to 10,000, log-uniform; flush_ms from 1 to 200.
sub random_batch { return int(exp(rand(log(10000)))) }
sub random_flush_ms { return 1 + int(rand(200)) }

# Stream frames through one source until the worker has flushed every trade
# the exchange sent (trades + duplicates = trades_sent), then drop the
# source.  Returns a description of the run.
my $nsource = 0;
sub stream
{
	my (%a) = @_;
	my $file = write_frames($a{frames});
	my %sim = (exchange => 'binance', replay => $file);
	if ($a{drops})
	{
		$sim{'drop-every'} = $a{drops};
		$sim{overlap} = $a{overlap};
	}
	$sim{rate} = $a{rate} if $a{rate};
	my $x = start_exchange(%sim);
	my $name = 'p' . $nsource++;
	my $options = encode_json({ batch_size => $a{batch}, flush_ms => $a{flush_ms}, feed => $a{feed} });
	my $list = join(',', map { "'$_'" } @{ $a{instruments} });
	my $syms = join(',', map { "'$_'" } @{ $a{symbols} });
	my $id = $node->safe_psql('postgres', qq{
		SELECT add_source('$name', 'binance', 'ws://127.0.0.1:$x->{port}', ARRAY[$list],
		                  symbols => ARRAY[$syms], market => '$a{market}', options => '$options')});
	# the exchange writes its stats file and exits at the end of the replay
	for (1 .. 1200)
	{
		last if -e $x->{stats};
		usleep(100_000);
	}
	ok(-e $x->{stats}, "$a{what}: the exchange replayed everything");
	my $stats = stop_exchange($x);
	my $sent = $stats->{trades_sent} // -1;
	my $done = $node->poll_query_until('postgres', qq{
		SELECT trades + duplicates >= $sent FROM triggerstock.ingest_status WHERE source = $id});
	ok($done, "$a{what}: the worker flushed the $sent trades sent");
	my ($stored, $dups, $flushes) = split /\|/, $node->safe_psql('postgres',
		"SELECT trades, duplicates, flushes FROM triggerstock.ingest_status WHERE source = $id");
	$node->safe_psql('postgres', "DELETE FROM triggerstock.sources WHERE id = $id");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'triggerstock ingest'");
	my $d = sprintf('%s: batch_size %d, flush_ms %d%s%s; %d trades sent, %d stored, %d duplicates, %d flushes (%.0f per flush)',
		$a{what}, $a{batch}, $a{flush_ms},
		$a{drops} ? ", drop every $a{drops} frames, overlap $a{overlap}" : '',
		$a{rate} ? ", $a{rate} frames/s" : '',
		$sent, $stored, $dups, $flushes, $flushes ? ($stored + $dups) / $flushes : 0);
	note($d);
	return $d;
}

# Compare every stored candle with ohlcv() of its trades and with a plain
# SQL reference; rollup() and candles(width) with direct aggregation.
my $total_candles = 0;
my $total_mismatches = 0;
sub check_candles
{
	my ($what) = @_;
	my ($n, $bad, $bad_ref) = split /\|/, $node->safe_psql('postgres', q{
		WITH direct AS (
			SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
			       ohlcv(ts, price, qty, trade_id) AS c,
			       (array_agg(price ORDER BY ts, trade_id))[1] AS open,
			       (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close,
			       (array_agg(trade_id ORDER BY ts, trade_id))[1] AS open_seq,
			       (array_agg(trade_id ORDER BY ts DESC, trade_id DESC))[1] AS close_seq,
			       max(price) AS high, min(price) AS low, count(*) AS trades,
			       min(ts) AS open_time, max(ts) AS close_time
			FROM triggerstock.trades GROUP BY 1, 2)
		SELECT count(*),
		       count(*) FILTER (WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
		                                  k.open_time, k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv
		                              IS DISTINCT FROM d.c
		                           OR float8send(k.volume) IS DISTINCT FROM float8send((d.c).volume)
		                           OR float8send(k.vwap) IS DISTINCT FROM float8send((d.c).vwap)),
		       count(*) FILTER (WHERE (k.open, k.close, k.open_seq, k.close_seq, k.high, k.low, k.trades,
		                               k.open_time, k.close_time)
		                              IS DISTINCT FROM
		                              (d.open, d.close, d.open_seq, d.close_seq, d.high, d.low, d.trades,
		                               d.open_time, d.close_time))
		FROM triggerstock.candles k FULL JOIN direct d USING (symbol, bucket)});
	is("$bad|$bad_ref", '0|0', "$what: $n candles, every field equal to ohlcv() over their trades and to the plain-SQL reference");
	$total_candles += $n;
	$total_mismatches += $bad + $bad_ref;
	my $rolled = $node->safe_psql('postgres', q{
		SELECT string_agg(w || ':' || n || '/' || bad, ' ' ORDER BY w) FROM (
			SELECT w, count(*) AS n,
			       count(*) FILTER (WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
			                                  k.open_time, k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv
			                              IS DISTINCT FROM k.c) AS bad
			FROM (VALUES (interval '5 minutes'), (interval '1 hour')) v(w)
			CROSS JOIN LATERAL (
				SELECT k.*, d.c FROM candles(v.w) k
				FULL JOIN (SELECT symbol, date_bin(v.w, ts, TIMESTAMPTZ 'epoch') AS bucket,
				                  ohlcv(ts, price, qty, trade_id) AS c
				           FROM triggerstock.trades GROUP BY 1, 2) d USING (symbol, bucket)) k
			GROUP BY w) s});
	unlike($rolled, qr{/[1-9]}, "$what: candles(width) and rollup() equal direct aggregation ($rolled)");
}

my %cap = (
	usdm => load_capture("$ws/usdm_btcusdt_trade_2024-08-08T2354Z_2400Z.jsonl", 'trade'),
	spot => load_capture("$ws/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl", 'trade'),
	coinm_agg => load_capture("$ws/cryptofeed_coinm_combined_2021-07-22.jsonl", 'aggTrade'),
	usdm_agg => load_capture("$ws/cryptofeed_usdm_combined_2021-07-22.jsonl", 'aggTrade'),
);
note(join(', ', map { "$_: " . scalar(@{ $cap{$_} }) . ' trade frames' } sort keys %cap));
$node->safe_psql('postgres', q{
	SELECT count(*) FROM create_partitions('2021-07-22', '2021-07-22');
	SELECT count(*) FROM create_partitions('2024-08-08', '2024-08-09')});

sub instruments_of
{
	my %i;
	$i{ $_->[1] } = 1 for @{ $_[0] };
	return [ sort keys %i ];
}

# --- USD-M trades: one market, several passes over the same minutes --------
my @runs;
{
	my ($now, $late) = hold_back(shuffle_ties($cap{usdm}), 0.05 + rand(0.1));
	# pass 1: most frames, ties shuffled, dropped and resumed connections
	push @runs, stream(what => 'usdm pass 1', frames => $now, instruments => ['BTCUSDT'],
		symbols => ['BTC-USDM'], market => 'usdm', feed => 'binance_trade',
		batch => 64 + int(rand(10000 - 64)), flush_ms => random_flush_ms(),
		drops => 1500 + int(rand(4000)), overlap => int(rand(400)));
	check_candles('usdm pass 1');
	# pass 2: the held-back frames, late into minutes already stored, small batches
	push @runs, stream(what => 'usdm pass 2 (late trades)', frames => shuffle_ties($late),
		instruments => ['BTCUSDT'], symbols => ['BTC-USDM'], market => 'usdm', feed => 'binance_trade',
		batch => 1 + int(rand(63)), flush_ms => random_flush_ms(), rate => 2000 + int(rand(8000)));
	check_candles('usdm pass 2');
	# pass 3: a second source of the same market replays a slice: duplicates only
	my $from = int(rand(@{ $cap{usdm} } - 3000));
	push @runs, stream(what => 'usdm pass 3 (replay)', frames => [ @{ $cap{usdm} }[ $from .. $from + 2999 ] ],
		instruments => ['BTCUSDT'], symbols => ['BTC-USDM'], market => 'usdm', feed => 'binance_trade',
		batch => random_batch(), flush_ms => random_flush_ms());
	check_candles('usdm pass 3');
	is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades WHERE market = 'usdm'"),
		distinct_keys($cap{usdm}), 'usdm: every trade of the capture stored once');
}

# --- spot trades, same instrument name, another market ---------------------
{
	my ($now, $late) = hold_back(shuffle_ties($cap{spot}), 0.1);
	my $batch = random_batch();
	# tiny batches take a flush per trade or two: keep those passes short
	my @first = $batch < 16 ? @$now[ 0 .. min($#$now, 2500) ] : @$now;
	push @runs, stream(what => 'spot pass 1', frames => \@first, instruments => ['BTCUSDT'],
		symbols => ['BTC'], market => 'spot', feed => 'binance_trade',
		batch => $batch, flush_ms => random_flush_ms(),
		drops => 2000 + int(rand(3000)), overlap => int(rand(300)));
	check_candles('spot pass 1');
	push @runs, stream(what => 'spot pass 2 (late trades)', frames => [ @$late, @first[ 0 .. 499 ] ],
		instruments => ['BTCUSDT'], symbols => ['BTC'], market => 'spot', feed => 'binance_trade',
		batch => random_batch(), flush_ms => random_flush_ms());
	check_candles('spot pass 2');
	is($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.trades WHERE market = 'spot'"),
		distinct_keys(\@first, $late), 'spot: every trade streamed stored once, beside the USD-M trades of the same instrument');
}

# --- aggTrades: COIN-M and USD-M, many instruments, one trade per flush ----
for my $c ([ 'coinm_agg', 'coinm' ], [ 'usdm_agg', 'usdm' ])
{
	my ($key, $market) = @$c;
	my $inst = instruments_of($cap{$key});
	for my $pass (1 .. 2)
	{
		my ($now, $late) = hold_back(shuffle_ties($cap{$key}), 0.3);
		push @runs, stream(what => "$key pass $pass", frames => [ @$now, @$late ], instruments => $inst,
			symbols => [ map { "$_\@$market" } @$inst ], market => $market, feed => 'binance_aggtrade',
			batch => 1 + int(rand(3)), flush_ms => random_flush_ms(), rate => 100 + int(rand(1900)));
		check_candles("$key pass $pass");
	}
}

note("runs:\n  " . join("\n  ", @runs));
note(sprintf('%d candle comparisons, %d mismatches, %.0f s', $total_candles, $total_mismatches, time() - $started));
is($total_mismatches, 0, "no candle differs from its trades ($total_candles candles compared over " . scalar(@runs) . ' runs)');
done_testing();
