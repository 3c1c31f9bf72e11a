# The predictor worker scores every (symbol, width, horizon) deployment on
# real candles fed in over time (issue 11), judged against an independent
# reading of the candle file:
#  - three deployments on the BTC perpetual 1-minute candles
#    (btc_perp_1m_2021-12-31_2022-02-01.csv), one symbol each:
#    P1 (1 minute, horizon 1), P5 (5 minutes, horizon 1), PH (1 minute,
#    horizon 5);
#  - the last 10 minutes are fed one minute at a time; after each minute the
#    newest scored bucket of each deployment is exactly the newest complete
#    bucket by data (bucket + width <= watermark = the newest candle's
#    close_time): a 5-minute bucket holding 2 of its 5 minutes is never
#    scored;
#  - each outcome is filled once the bucket `horizon` buckets later is
#    complete, never before, and equals close(later bucket) > close(bucket)
#    at the deployment's width, computed here from the CSV file;
#  - model_live_metrics has one row per (symbol, width, horizon) with n and
#    accuracy equal to the rows' own;
#  - no bucket is scored twice (pg_stat_statements: one INSERT call per row,
#    none while nothing new is complete).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX qw(floor strftime);
use Time::Local qw(timegm);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $csv = "$shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv";

# --- the file, read independently ------------------------------------------
my %close;    # Unix epoch seconds of the minute (UTC) -> close
open(my $fh, '<', $csv) or die "$csv: $!";
<$fh>;
while (my $line = <$fh>)
{
	my ($ts, $o, $h, $l, $c) = split /,/, $line;
	my ($y, $mo, $d, $hh, $mi) = $ts =~ /^(\d+)-(\d+)-(\d+) (\d+):(\d+)/ or die "bad line $line";
	my $epoch = timegm(0, $mi, $hh, $d, $mo - 1, $y);
	$close{$epoch} = $c + 0;
}
close $fh;
my @minutes = sort { $a <=> $b } keys %close;
my %minute_of = map { $_ => 1 } @minutes;
my $nfed = 10;
my $first_fed = $minutes[-$nfed];                  # 2022-01-25 23:16
my $history_from = $first_fed - 2 * 86400;         # two days of history

# close of the width-w bucket starting at b (its last minute's close; the
# minutes of this range are contiguous, checked below)
sub bucket_close
{
	my ($b, $w) = @_;
	return $close{ $b + $w - 60 };
}
for (my $t = $history_from; $t <= $minutes[-1]; $t += 60)
{
	die "a minute is missing at $t" unless $minute_of{$t};
}

my $node = PostgreSQL::Test::Cluster->new('predictor_widths');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock,pg_stat_statements'
pg_stat_statements.track = all
triggerstock.database = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock; CREATE EXTENSION pg_stat_statements');
$node->safe_psql('postgres', qq{
	CREATE TABLE stage (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
	COPY stage FROM '$csv' WITH (FORMAT csv, HEADER true);
	CREATE FUNCTION feed(from_ts timestamp, to_ts timestamp) RETURNS void LANGUAGE sql AS \$\$
	    INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                      open_time, close_time)
	    SELECT s.symbol, interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
	           ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
	    FROM stage, (VALUES ('P1'), ('P5'), ('PH')) s(symbol)
	    WHERE ts >= from_ts AND ts <= to_ts
	\$\$;});
# a minute of the file as the naive UTC timestamp of its CSV line
sub ts_of
{
	my ($t) = @_;
	return strftime('%Y-%m-%d %H:%M:%S', gmtime($t));
}
my $history_ts = ts_of($history_from);
my $before_fed = ts_of($first_fed - 60);
$node->safe_psql('postgres', "SELECT feed('$history_ts', '$before_fed')");
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.candles WHERE symbol = 'P1'}),
	2 * 1440, 'two days of real 1-minute candles per symbol before the feed');

# --- three deployments: 1 minute, 5 minutes, horizon 5 ---------------------------
my $params = q{'{"num_boost_round": 20, "max_depth": 3}'};
my %dep = (
	P1 => { width => 60,  horizon => 1, sql => qq{train('P1', params => $params)} },
	P5 => { width => 300, horizon => 1, sql => qq{train('P5', '5 minutes', params => $params)} },
	PH => { width => 60,  horizon => 5, sql => qq{train('PH', horizon => 5, params => $params)} });
for my $s (sort keys %dep)
{
	$dep{$s}{model} = $node->safe_psql('postgres', "SELECT $dep{$s}{sql}");
	is($node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = '$s'"),
		$dep{$s}{model}, "$s: model $dep{$s}{model} (width $dep{$s}{width} s, horizon $dep{$s}{horizon}) deployed");
}

# expected state after the minute $m is the newest fed one: the newest
# complete bucket of width w is the newest b with b + w <= m + 59.999 s
# (watermark = the newest candle's close_time), buckets aligned to the epoch
sub last_complete
{
	my ($m, $w) = @_;
	return floor(($m + 59.999) / $w) * $w - $w;
}

my %scored;      # symbol -> { bucket epoch -> 1 }
sub expected_rows
{
	my ($s, $m) = @_;
	my ($w, $h) = ($dep{$s}{width}, $dep{$s}{horizon});
	my $lc = last_complete($m, $w);
	my (@rows, $realised);
	for my $b (sort { $a <=> $b } keys %{ $scored{$s} })
	{
		my $target = $b + $h * $w;    # contiguous minutes: h buckets later
		push @rows, $b;
		$realised++ if $target <= $lc;
	}
	return ($lc, scalar(@rows), $realised // 0);
}

# the state of every deployment: newest scored bucket (epoch), rows, realised
my $session = $node->background_psql('postgres');
my $state_sql = q{SELECT string_agg(s || ' ' || coalesce(extract(epoch FROM b)::bigint, 0) || ' ' || n || ' ' || r, ',' ORDER BY s)
	FROM (SELECT s, max(p.bucket) AS b, count(p.bucket) AS n, count(p.outcome) AS r
	      FROM (VALUES ('P1', 60, 1), ('P5', 300, 1), ('PH', 60, 5)) d(s, w, h)
	      LEFT JOIN triggerstock.predictions p
	        ON p.symbol = d.s AND p.width = make_interval(secs => d.w) AND p.horizon = d.h
	      GROUP BY s) x};
sub states
{
	my %got;
	for my $part (split /,/, $session->query_safe($state_sql))
	{
		my ($s, $rest) = split / /, $part, 2;
		$got{$s} = $rest;
	}
	return %got;
}

# wait until every deployment has scored its newest complete bucket and
# filled the outcomes that are due; fail at once if it went further
my $early = 0;
sub wait_step
{
	my ($m) = @_;
	my $deadline = time + 30;
	my %want;
	for my $s (keys %dep)
	{
		$scored{$s}{ last_complete($m, $dep{$s}{width}) } = 1;
		my ($lc, $n, $realised) = expected_rows($s, $m);
		$want{$s} = "$lc $n $realised";
	}
	while (1)
	{
		my $done = 1;
		my %got = states();
		for my $s (sort keys %dep)
		{
			my $got = $got{$s};
			my ($gb, $gn, $gr) = split / /, $got;
			my ($wb, $wn, $wr) = split / /, $want{$s};
			if ($gb > $wb || $gn > $wn || $gr > $wr)
			{
				$early++;
				diag("$s after minute $m: got (newest, rows, realised) $got, want $want{$s}");
				return 0;
			}
			$done = 0 if $got ne $want{$s};
		}
		return 1 if $done;
		if (time > $deadline)
		{
			diag("timeout after minute $m: " . join(', ', map { "$_ $got{$_} want $want{$_}" } sort keys %dep));
			return 0;
		}
		sleep 0.05;
	}
}

ok(wait_step($first_fed - 60), 'before the feed: each deployment scored its newest complete bucket');
my $steps_ok = 1;
my $p5_at_0716 = '';
for my $m (@minutes[-$nfed .. -1])
{
	my $ts = ts_of($m);
	$session->query_safe("SELECT feed('$ts', '$ts')");
	$steps_ok &&= wait_step($m);
	last unless $steps_ok;
	# 23:16 fed: the 5-minute bucket 23:15 holds 23:15 and 23:16, 2 of its 5 minutes
	$p5_at_0716 = $session->query_safe(q{SELECT predict_explain('P5') ->> 'bucket'})
	  if $m == $first_fed;
}
ok($steps_ok, "after each of $nfed fed minutes: the newest complete bucket of every deployment scored, "
	  . 'outcomes filled exactly when the bucket horizon buckets later became complete');
is($early, 0, 'nothing scored or judged before its data was complete');
like($p5_at_0716, qr/T23:10:00/, 'with 23:15 and 23:16 stored, predict(P5) serves the 5-minute bucket 23:10, not 23:15');

# --- every row against the file ------------------------------------------------------
for my $s (sort keys %dep)
{
	my ($w, $h) = ($dep{$s}{width}, $dep{$s}{horizon});
	my $rows = $node->safe_psql('postgres', qq{
		SELECT extract(epoch FROM bucket)::bigint, coalesce(outcome::text, 'pending'),
		       probability, fallback_level, model_id
		FROM triggerstock.predictions
		WHERE symbol = '$s' ORDER BY bucket});
	my ($n, $bad, $right, $realised) = (0, 0, 0, 0);
	for my $r (split /\n/, $rows)
	{
		my ($b, $outcome, $p, $level, $model) = split /\|/, $r;
		$n++;
		$bad++ unless $level eq 'model' && $model == $dep{$s}{model} && $b % $w == 0;
		next if $outcome eq 'pending';
		my $want = bucket_close($b + $h * $w, $w) > bucket_close($b, $w) ? 'true' : 'false';
		$realised++;
		if ($outcome ne $want)
		{
			$bad++;
			diag("$s bucket $b: outcome $outcome, the file says $want");
		}
		$right++ if (($p >= 0.5) ? 'true' : 'false') eq $outcome;
	}
	my $want_n = scalar keys %{ $scored{$s} };
	is("$n $bad", "$want_n 0", "$s: $n rows, each a model score of the deployed model at a bucket of its width; "
		  . "$realised outcomes equal close(bucket + $h x $w s) > close(bucket) from the file");
	my $live = $node->safe_psql('postgres', qq{
		SELECT n || ' ' || round(accuracy, 12) || ' ' || (baseline_log_loss IS NOT NULL)
		FROM triggerstock.model_live_metrics WHERE symbol = '$s'});
	is($live, sprintf('%d %.12f true', $realised, $realised ? $right / $realised : 0),
		"$s: model_live_metrics n and accuracy equal the rows' (one row for its width and horizon)");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.predictions}),
	(scalar keys %{ $scored{P1} }) + (scalar keys %{ $scored{P5} }) + (scalar keys %{ $scored{PH} }),
	'no other rows');

# --- no bucket is scored twice ---------------------------------------------------------
my $calls_sql = q{SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE 'INSERT INTO triggerstock.predictions%'};
my $calls = $node->safe_psql('postgres', $calls_sql);
is($calls, $node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.predictions}),
	"one scoring (INSERT) per stored row: $calls");
sleep 3;
is($node->safe_psql('postgres', $calls_sql), $calls, 'nothing scored again while nothing new is complete');

$session->quit;
$node->stop;
done_testing();
