# Rollouts (issue 15) on real candles fed over time: the predictor worker
# scores a shadow candidate beside the live model, and its promotion rule
# decides without anyone acting.  The BTC perpetual 1-minute candles
# (btc_perp_1m_2021-12-31_2022-02-01.csv) under four symbols, two days of
# history, then 14 minutes fed one at a time:
#  - S: a sane live model (20 rounds, depth 2), a shadow candidate trained to
#    be bad (200 rounds of depth 8, eta 1, no regularisation, on 3 hours:
#    probabilities near 0 or 1): rolled back (a deployments row of strategy
#    rollback, mode retired) as soon as it has min_outcomes = 10 realised
#    scores, since its live log loss is above that of its training base rate;
#  - T: the bad model live (deploy(id)), the sane one in shadow: promoted (a
#    live row of strategy promotion) once 10 buckets are scored by both;
#    predict() then serves it and the predictor's live rows carry it;
#  - U: two sane models, a rule that cannot promote (min_improvement 0.5)
#    nor roll back (baseline_margin 10): retired after max_outcomes = 10;
#  - V: as S with the rule disabled: rollout_status says rollback, nothing
#    is decided (the decisions come from the rule, not from the data alone);
#  - W: a canary of fraction 0.5 (rule disabled): after each minute,
#    predict_explain() serves the canary exactly when the share of its
#    bucket, computed here with Digest::MD5 (the first 32 bits of
#    md5("W direction <epoch seconds>") / 2^32), is below 0.5, else the live
#    model; the predictor's live rows carry the model predict() served, its
#    canary rows the candidate's score of every bucket.
# Judged against an independent reading of the file and of the rows: each
# realised outcome is close(bucket + 1 minute) > close(bucket) from the CSV;
# each decision's figures (n, log losses of candidate, baseline and live
# model on the paired buckets) are recomputed here from the predictions
# rows and the models' training base rates, and the rule is applied here;
# while a shadow is active predict() serves the live model and the shadow's
# rows never appear as live rows; a candidate is no longer scored once
# decided (at most one row after its decision's pass).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ModelTest;
use Time::HiRes qw(time sleep);
use POSIX qw(strftime);
use Time::Local qw(timegm);
use JSON::PP;
use Digest::MD5 qw(md5_hex);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $csv = "$shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv";

# --- the file, read independently ------------------------------------------
my %close;
open(my $fh, '<', $csv) or die "$csv: $!";
<$fh>;
while (my $line = <$fh>)
{
	my ($ts, $o, $h, $l, $c) = split /,/, $line;
	my ($y, $mo, $d, $hh, $mi) = $ts =~ /^(\d+)-(\d+)-(\d+) (\d+):(\d+)/ or die "bad line $line";
	$close{ timegm(0, $mi, $hh, $d, $mo - 1, $y) } = $c + 0;
}
close $fh;
my @minutes = sort { $a <=> $b } keys %close;
my $nfed = 14;
my $first_fed = $minutes[-$nfed];
my $history_from = $first_fed - 2 * 86400;
for (my $t = $history_from; $t <= $minutes[-1]; $t += 60)
{
	die "a minute is missing at $t" unless exists $close{$t};
}
sub ts_of { return strftime('%Y-%m-%d %H:%M:%S', gmtime($_[0])); }

my $node = model_node('rollouts');
my @symbols = qw(S T U V W);
my $values = join(', ', map { "('$_')" } @symbols);
$node->safe_psql('postgres', qq{
	CREATE TABLE stage (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
	COPY stage FROM '$csv' WITH (FORMAT csv, HEADER true);
	CREATE FUNCTION feed(from_ts timestamp, to_ts timestamp) RETURNS void LANGUAGE sql AS \$\$
	    INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                      open_time, close_time)
	    SELECT s.symbol, interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
	           ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
	    FROM stage, (VALUES $values) s(symbol)
	    WHERE ts >= from_ts AND ts <= to_ts
	\$\$;});
$node->safe_psql('postgres', "SELECT feed('" . ts_of($history_from) . "', '" . ts_of($first_fed - 60) . "')");
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.candles WHERE symbol = 'V'}),
	2 * 1440, 'two days of real 1-minute candles per symbol');

# --- models, deployments, rules -----------------------------------------------
my $sane = q{'{"num_boost_round": 20, "max_depth": 2}'};
my $sane2 = q{'{"num_boost_round": 30, "max_depth": 3}'};
my $bad = q{'{"num_boost_round": 200, "max_depth": 8, "eta": 1, "min_child_weight": 0, "lambda": 0, "early_stopping_rounds": 0}', "window" => '3 hours'};
my (%live, %cand);
sub train
{
	my ($s, $params) = @_;
	my $id = $node->safe_psql('postgres', "SET client_min_messages = warning; SELECT train('$s', params => $params)");
	like($id, qr/^\d+$/, "$s: model $id trained");
	return $id;
}
for my $s (qw(S V))
{
	$live{$s} = train($s, $sane);
	$cand{$s} = train($s, $bad);
}
{
	my $good = train('T', $sane);
	$live{T} = train('T', $bad);
	$cand{T} = $good;
	$node->safe_psql('postgres', "SELECT deploy($live{T})");
}
for my $s (qw(U W))
{
	my @m = (train($s, $sane), train($s, $sane2));
	my $deployed = $node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = '$s'");
	($live{$s}, $cand{$s}) = $deployed == $m[0] ? @m : reverse @m;
}
for my $s (@symbols)
{
	is($node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = '$s'"),
		$live{$s}, "$s: model $live{$s} live");
}
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.rollout_rules (symbol, min_outcomes, max_outcomes, min_improvement, baseline_margin, enabled)
	VALUES ('S', 10, NULL, 0, 0, true), ('T', 10, NULL, 0, 0.05, true), ('U', 10, 10, 0.5, 10, true),
	       ('V', 10, NULL, 0, 0, false), ('W', 10, NULL, 0, 0, false)});
my %mode = (map({ $_ => 'shadow' } qw(S T U V)), W => 'canary');
for my $s (@symbols)
{
	my $args = $s eq 'W' ? "mode => 'canary', fraction => 0.5" : "mode => 'shadow'";
	is($node->safe_psql('postgres', "SELECT deploy($cand{$s}, $args)"), $cand{$s},
		"$s: model $cand{$s} deployed: $args");
}
is($node->safe_psql('postgres', q{SELECT string_agg(symbol || ':' || model_id || ':' || mode, ',' ORDER BY symbol)
	FROM triggerstock.rollout_candidates}),
	join(',', map { "$_:$cand{$_}:$mode{$_}" } @symbols), 'one active candidate per symbol');

# --- feed, one minute at a time ------------------------------------------------
# after minute m is fed the newest complete bucket is m - 1 minute; a pass
# scores it (live and shadow), fills the outcome of m - 2 minutes and
# applies the rules, in one transaction
my $session = $node->background_psql('postgres');
# predict() may reuse a feature row for feature_cache_ttl: read the newest
# complete bucket on every call, as the predictor does
$session->query_safe('SET triggerstock.feature_cache_ttl = 0');
my %served_live = map { $_ => 1 } @symbols;
my $n = scalar(@symbols);
sub canary_share
{
	my ($s, $epoch) = @_;
	return hex(substr(md5_hex("$s direction $epoch"), 0, 8)) / 4294967296;
}
my ($canary_checked, $canary_served, $canary_ok) = (0, 0, 1);
sub wait_step
{
	my ($m) = @_;
	my $b = ts_of($m - 60);
	my $p = ts_of($m - 120);
	my $deadline = time + 60;
	while (time < $deadline)
	{
		return 1 if $session->query_safe(qq{
			SELECT count(*) FILTER (WHERE bucket = '$b+00') = $n AND count(outcome) FILTER (WHERE bucket = '$p+00') = $n
			FROM triggerstock.predictions WHERE mode = 'live'}) eq 't';
		sleep 0.05;
	}
	diag("timeout after minute " . ts_of($m));
	return 0;
}
my $steps_ok = 1;
for my $m (@minutes[-$nfed .. -1])
{
	my $ts = ts_of($m);
	$session->query_safe("SELECT feed('$ts', '$ts')");
	$steps_ok &&= wait_step($m);
	# while a symbol's candidate is undecided, predict() serves its live model
	for my $s (@symbols)
	{
		my $r = $session->query_safe(qq{
			SELECT (SELECT count(*) FROM triggerstock.rollout_candidates WHERE symbol = '$s'),
			       predict_explain('$s') ->> 'model_id'});
		my ($active, $served) = split /\|/, $r;
		$served_live{$s} = 0 if $active && $served ne $live{$s} && $s ne 'W';
	}
	# W's canary: the share of the scored bucket (m - 1 minute) decides
	my $r = $session->query_safe(q{SELECT e ->> 'model_id', e ->> 'deployment_mode', extract(epoch FROM (e ->> 'bucket')::timestamptz)::bigint
		FROM predict_explain('W') e});
	my ($served, $dmode, $bucket) = split /\|/, $r;
	my $canary = canary_share('W', $bucket) < 0.5;
	$canary_checked++;
	$canary_served++ if $canary;
	if ($bucket != $m - 60 || $served != ($canary ? $cand{W} : $live{W}) || $dmode ne ($canary ? 'canary' : 'live'))
	{
		$canary_ok = 0;
		diag("W after " . ts_of($m) . ": bucket $bucket, model $served ($dmode), share " . canary_share('W', $bucket));
	}
}
ok($steps_ok, "$nfed minutes fed: each scored and realised by the predictor");
ok($served_live{$_}, "$_: predict() served the live model $live{$_} while the shadow was active") for qw(S T U V);
ok($canary_ok, "W: predict() served canary $cand{W} for the $canary_served of $canary_checked buckets whose md5 share is below 0.5, live model $live{W} for the others");
ok($canary_served > 0 && $canary_served < $canary_checked, 'W: both models served');

# --- the rows ------------------------------------------------------------------
my %rows;    # symbol -> mode -> bucket epoch -> [model_id, probability, outcome, fallback_level]
for my $line (split /\n/, $node->safe_psql('postgres', q{
	SELECT symbol, mode, extract(epoch FROM bucket)::bigint, model_id, probability, coalesce(outcome::int, -1),
	       fallback_level
	FROM triggerstock.predictions ORDER BY 1, 2, 3}))
{
	my ($s, $mode, $b, $id, $p, $o, $level) = split /\|/, $line;
	$rows{$s}{$mode}{$b} = [$id, $p, $o, $level];
}
my $outcomes_ok = 1;
for my $s (@symbols)
{
	for my $mode (keys %{ $rows{$s} })
	{
		for my $b (keys %{ $rows{$s}{$mode} })
		{
			my $o = $rows{$s}{$mode}{$b}[2];
			next if $o == -1;
			my $want = $close{ $b + 60 } > $close{$b} ? 1 : 0;
			if ($o != $want)
			{
				$outcomes_ok = 0;
				diag("$s $mode " . ts_of($b) . ": outcome $o, the file says $want");
			}
		}
	}
}
ok($outcomes_ok, 'every realised outcome, live and shadow, is close(bucket + 1 minute) > close(bucket) of the file');
# W: every canary row is the candidate's score; each live row is the model
# predict() serves for its bucket (the canary's share below 0.5 or not)
{
	my ($bad_canary, $bad_live, $nlive) = (0, 0, 0);
	$bad_canary += $_->[0] != $cand{W} || $_->[3] ne 'model' for values %{ $rows{W}{canary} };
	for my $b (keys %{ $rows{W}{live} })
	{
		# the buckets scored before the feed may precede the canary
		next if $b < $first_fed - 60;
		$nlive++;
		$bad_live++ if $rows{W}{live}{$b}[0] != (canary_share('W', $b) < 0.5 ? $cand{W} : $live{W});
	}
	is($bad_canary, 0, 'W: ' . scalar(keys %{ $rows{W}{canary} }) . ' canary rows, each a model score of the candidate');
	is($bad_live, 0, "W: $nlive live rows, each by the model predict() serves for its bucket");
}
for my $s (qw(S T U V))
{
	my @shadow = values %{ $rows{$s}{shadow} };
	is(scalar(grep { $_->[0] != $cand{$s} || $_->[3] ne 'model' } @shadow), 0,
		"$s: every shadow row is a model score of candidate $cand{$s}");
}

# the figures of a decision, recomputed from the rows up to its last bucket
my %base_rate;
for my $line (split /\n/, $node->safe_psql('postgres',
	q{SELECT id, metrics ->> 'train_base_rate' FROM triggerstock.models}))
{
	my ($id, $br) = split /\|/, $line;
	$base_rate{$id} = $br;
}
sub ll
{
	my ($p, $o) = @_;
	my $q = $o ? $p : 1 - $p;
	$q = 1e-15 if $q < 1e-15;
	return -log($q);
}
sub figures
{
	my ($s, $until) = @_;
	my %f = (n => 0, loss => 0, baseline => 0, n_paired => 0, loss_paired => 0, live_paired => 0);
	my $br = $base_rate{ $cand{$s} };
	$br = 1e-15 if $br < 1e-15;
	$br = 1 - 1e-15 if $br > 1 - 1e-15;
	for my $b (sort { $a <=> $b } keys %{ $rows{$s}{shadow} })
	{
		last if defined $until && $b > $until;
		my ($id, $p, $o) = @{ $rows{$s}{shadow}{$b} };
		next if $o == -1;
		$f{n}++;
		$f{loss} += ll($p, $o);
		$f{baseline} += -log($o ? $br : 1 - $br);
		my $l = $rows{$s}{live}{$b};
		if ($l && $l->[0] == $live{$s} && $l->[3] eq 'model' && $l->[2] != -1)
		{
			$f{n_paired}++;
			$f{loss_paired} += ll($p, $o);
			$f{live_paired} += ll($l->[1], $l->[2]);
		}
	}
	$f{$_} /= $f{n} for qw(loss baseline);
	$f{$_} = $f{n_paired} ? $f{$_} / $f{n_paired} : undef for qw(loss_paired live_paired);
	return \%f;
}
sub close_to
{
	my ($got, $want, $what) = @_;
	my $ok = defined $got && defined $want && abs($got - $want) <= 1e-9 * (1 + abs($want));
	diag("$what: got " . ($got // 'NULL') . ", recomputed " . ($want // 'NULL')) unless $ok;
	return $ok;
}

my $json = JSON::PP->new;
my %decision;
for my $line (split /\n/, $node->safe_psql('postgres', q{
	SELECT symbol, id, model_id, strategy, mode, metrics, reason FROM triggerstock.deployments
	WHERE strategy IN ('promotion', 'rollback', 'retirement') ORDER BY id}))
{
	my ($s, $id, $model, $strategy, $mode, $metrics, $reason) = split /\|/, $line;
	push @{ $decision{$s} }, { id => $id, model => $model, strategy => $strategy, mode => $mode,
		metrics => $json->decode($metrics), reason => $reason };
}
my %want = (S => ['rollback', 'retired'], T => ['promotion', 'live'], U => ['retirement', 'retired']);
for my $s (qw(S T U))
{
	my $d = $decision{$s} || [];
	is(scalar(@$d), 1, "$s: one automatic decision");
	next unless @$d;
	my $x = $d->[0];
	is("$x->{model} $x->{strategy} $x->{mode}", "$cand{$s} @{ $want{$s} }", "$s: candidate $cand{$s}: @{ $want{$s} }");
	my $m = $x->{metrics};
	my ($since, $until) = map { my ($y, $mo, $dd, $h, $mi) = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/; timegm(0, $mi, $h, $dd, $mo - 1, $y) }
		($m->{since}, $m->{until});
	my $f = figures($s, $until);
	is($m->{n}, $f->{n}, "$s: n = $f->{n} realised shadow scores");
	ok(close_to($m->{candidate_loss}, $f->{loss}, "$s candidate_loss")
		&& close_to($m->{baseline_loss}, $f->{baseline}, "$s baseline_loss"),
		"$s: candidate and baseline log loss as recomputed ($f->{loss} against $f->{baseline})");
	is($m->{n_paired}, $f->{n_paired}, "$s: n_paired = $f->{n_paired}");
	if ($f->{n_paired})
	{
		ok(close_to($m->{candidate_loss_paired}, $f->{loss_paired}, "$s candidate_loss_paired")
			&& close_to($m->{live_loss_paired}, $f->{live_paired}, "$s live_loss_paired"),
			"$s: paired log losses as recomputed ($f->{loss_paired} against $f->{live_paired} of the live model)");
	}
	is($m->{live_model_id}, $live{$s}, "$s: the live model compared is $live{$s}");
	like($x->{reason}, qr/^rollout: shadow candidate /, "$s: the reason says why: $x->{reason}");
	# the rule, applied here, at the decision and one realised bucket before it
	my $r = $m->{rule};
	my $before = figures($s, $until - 60);
	if ($s eq 'S')
	{
		ok($f->{n} == 10 && $f->{loss} > $f->{baseline} + $r->{baseline_margin},
			'S: rolled back at its 10th outcome: worse than its baseline on live data');
	}
	elsif ($s eq 'T')
	{
		ok($f->{n_paired} >= 10 && $f->{loss_paired} < $f->{live_paired} * (1 - $r->{min_improvement})
			&& $f->{loss} <= $f->{baseline} + $r->{baseline_margin}
			&& $before->{n_paired} < 10,
			'T: promoted at the first pass with 10 paired buckets: better than the live model and not worse than its baseline');
	}
	else
	{
		ok($f->{n} == 10 && !($f->{loss_paired} < $f->{live_paired} * 0.5), 'U: retired at max_outcomes without beating the live model');
	}
	# decided once: no candidate row after the decision's pass but its own
	my @after = grep { $_ > $until } keys %{ $rows{$s}{shadow} };
	ok(@after <= 1, "$s: the candidate is not scored after its decision (" . scalar(@after) . " row of the deciding pass)");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM triggerstock.deployments WHERE symbol = 'V' AND metrics IS NOT NULL}),
	0, 'V: the rule disabled: no decision');
my $fv = figures('V');
is($node->safe_psql('postgres', q{SELECT n || ' ' || decision FROM triggerstock.rollout_status WHERE symbol = 'V'}),
	"$fv->{n} rollback", "V: rollout_status says rollback after $fv->{n} outcomes, and nothing acted on it");

# after the promotion, T's live model is the candidate, served and scored
is($node->safe_psql('postgres', q{SELECT model_id || ' ' || strategy FROM triggerstock.deployed WHERE symbol = 'T'}),
	"$cand{T} promotion", 'T: deployed is the promoted candidate');
is($node->safe_psql('postgres', q{SELECT predict_explain('T') ->> 'model_id'}), $cand{T}, 'T: predict() serves it');
my ($last_live) = sort { $b <=> $a } keys %{ $rows{T}{live} };
is($rows{T}{live}{$last_live}[0], $cand{T}, 'T: the predictor\'s newest live row is scored by it');
for my $s (qw(S U))
{
	is($node->safe_psql('postgres', "SELECT model_id FROM triggerstock.deployed WHERE symbol = '$s'"), $live{$s},
		"$s: the live model stays $live{$s}");
}
is($node->safe_psql('postgres', q{SELECT string_agg(symbol, ',' ORDER BY symbol) FROM triggerstock.rollout_candidates}),
	'V,W', 'only V and W (rules disabled) still have a candidate');
# the shadow never reached a live row after it became a candidate (U's may
# have been live before: the first of its two models is deployed by train())
is($node->safe_psql('postgres', qq{SELECT count(*) FROM triggerstock.predictions p
	JOIN triggerstock.deployments d ON d.symbol = p.symbol AND d.model_id = p.model_id AND d.mode = 'shadow'
	WHERE p.mode = 'live' AND p.predicted_at >= d.deployed_at
	  AND (p.symbol, p.model_id) IN (('S', $cand{S}), ('U', $cand{U}), ('V', $cand{V}))}),
	0, 'no live row of S, U or V carries its candidate once it is one');

$session->quit;
$node->stop;
done_testing();
