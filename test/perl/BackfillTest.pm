# BackfillTest: helpers of the backfill TAP tests.
#  - start_backfill_server(state_dir): runs test/backfill_server.py (127.0.0.1,
#    the REST dumps of ../shared/data with each exchange's pagination and the
#    faults of state_dir/faults.json), returns its base URL; stopped by its
#    pid when the test ends;
#  - set_faults(state_dir, {request number => fault, ...});
#  - wait_job(node, id, timeout): waits until job id leaves queued/running,
#    returns its row as a hash;
#  - db_trades(node, where): the stored trades as "id|ts_us|price|qty|side";
#  - expected_candles(trades): 1-minute candles of [id, ts_us, price, qty]
#    rows, aggregated here (open/close by (ts, id)), as hash bucket_us => row;
#  - compare_candles(node, symbol, expected, what): every field of every
#    stored candle of symbol against expected (volume, vwap to 1e-9).
package BackfillTest;
use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use Time::HiRes qw(usleep);
use Time::Local qw(timegm);
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(start_backfill_server set_faults wait_job db_trades expected_candles
  compare_candles rfc3339_us);

my @server_pids;
END { kill 'TERM', $_ for @server_pids; }

sub start_backfill_server
{
	my ($state) = @_;
	my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
	my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
	my $pid = fork();

	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		exec('/usr/bin/python3', "$repo/test/backfill_server.py", "$shared/data", $state)
		  or die "cannot start the backfill test server: $!";
	}
	push @server_pids, $pid;
	for (1 .. 200) { last if -f "$state/port"; usleep(100_000); }
	die "the backfill test server did not start" unless -f "$state/port";
	return "http://127.0.0.1:" . slurp_file("$state/port");
}

sub set_faults
{
	my ($state, $faults) = @_;
	open(my $f, '>', "$state/faults.json.tmp") or die;
	print $f encode_json($faults);
	close $f;
	rename("$state/faults.json.tmp", "$state/faults.json") or die;
}

sub wait_job
{
	my ($node, $id, $timeout) = @_;
	my %row;
	for (1 .. ($timeout // 60) * 5)
	{
		my $r = $node->safe_psql('postgres', qq{
			SELECT state, rows, pages, errors, coalesce(last_error, ''), progress, coalesce(cursor, '')
			FROM triggerstock.backfills WHERE id = $id});
		@row{qw(state rows pages errors last_error progress cursor)} = split /\|/, $r, 7;
		return \%row if ($row{state} // '') !~ /^(queued|running)$/;
		usleep(200_000);
	}
	return \%row;
}

sub db_trades
{
	my ($node, $where) = @_;
	return [ split /\n/, $node->safe_psql('postgres', qq{
		SELECT trade_id || '|' || (extract(epoch FROM ts) * 1000000)::bigint || '|' || price || '|' || qty
		       || '|' || coalesce(side, '')
		FROM triggerstock.trades WHERE $where ORDER BY ts, trade_id}) ];
}

# µs since the epoch of an RFC 3339 UTC time (fraction truncated to µs).
sub rfc3339_us
{
	my ($s) = @_;
	my ($y, $mo, $d, $h, $mi, $sec, $frac) = $s =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$/
	  or die "bad time $s";
	$frac = substr(($frac // '') . '000000', 0, 6);
	return timegm($sec, $mi, $h, $d, $mo - 1, $y) * 1000000 + $frac;
}

sub expected_candles
{
	my ($trades) = @_;
	my %c;
	for my $t (sort { $a->[1] <=> $b->[1] || $a->[0] <=> $b->[0] } @$trades)
	{
		my ($id, $us, $p, $q) = @$t;
		my $b = int($us / 60000000) * 60000000;
		my $k = $c{$b} //= { open => $p, high => $p, low => $p, vol => 0, pq => 0, n => 0,
			open_us => $us };
		$k->{high} = $p if $p > $k->{high};
		$k->{low} = $p if $p < $k->{low};
		$k->{close} = $p;
		$k->{close_us} = $us;
		$k->{vol} += $q;
		$k->{pq} += $p * $q;
		$k->{n}++;
	}
	return \%c;
}

sub compare_candles
{
	my ($node, $symbol, $exp, $what) = @_;
	my %got;
	for (split /\n/, $node->safe_psql('postgres', qq{
		SELECT (extract(epoch FROM bucket) * 1000000)::bigint, open, high, low, close, volume,
		       coalesce(vwap, -1), trades, (extract(epoch FROM open_time) * 1000000)::bigint,
		       (extract(epoch FROM close_time) * 1000000)::bigint, origin
		FROM triggerstock.candles WHERE symbol = '$symbol'}))
	{
		my @f = split /\|/;
		$got{ $f[0] } = \@f;
	}
	my @bad;
	for my $b (sort { $a <=> $b } keys %$exp)
	{
		my $e = $exp->{$b};
		my $g = $got{$b} or do { push @bad, "no candle at $b"; next };
		my $vwap = $e->{vol} > 0 ? $e->{pq} / $e->{vol} : -1;
		push @bad, "candle $b: @$g"
		  unless $g->[1] == $e->{open} && $g->[2] == $e->{high} && $g->[3] == $e->{low}
		  && $g->[4] == $e->{close} && abs($g->[5] - $e->{vol}) <= 1e-9 * $e->{vol}
		  && abs($g->[6] - $vwap) <= 1e-9 * abs($vwap) && $g->[7] == $e->{n}
		  && $g->[8] == $e->{open_us} && $g->[9] == $e->{close_us} && $g->[10] eq 'trades';
	}
	push @bad, "unexpected candle at $_" for grep { !$exp->{$_} } sort keys %got;
	is(scalar(@bad) ? join('; ', @bad[0 .. ($#bad > 4 ? 4 : $#bad)]) : '', '',
		"$what: every field of the " . scalar(keys %$exp) . " candles equals the trades' aggregation");
}

1;
