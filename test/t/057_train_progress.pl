# Progress of train() (issue 15) on the real BTC perpetual 1-minute candles
# (btc_perp_1m_2021-12-31_2022-02-01.csv, five days):
#  - a client that sets triggerstock.train_progress_every = 10 gets a NOTICE
#    every 10 validation rounds (round, rows, validation score, best so far)
#    and at the last refit round; the figures agree with the stored model:
#    the validation rows are metrics.n_fit, the refit boosts best_iteration
#    + 1 rounds on n_train rows, the best score is validation_log_loss;
#  - while it runs, another session reads the view triggerstock.train_progress
#    (symbol, target, phase, round, rounds, scores, rows) and sees the same
#    run, rounds that only grow; the row goes when the run ends;
#  - a client that does not ask gets no progress NOTICE;
#  - a cancelled train() leaves no row behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $csv = "$shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv";

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION triggerstock;
	CREATE TEMP TABLE stage (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
	COPY stage FROM '$csv' WITH (FORMAT csv, HEADER true);
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                  open_time, close_time)
	SELECT 'P', interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
	       ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
	FROM stage WHERE ts >= '2022-01-20' AND ts < '2022-01-25'});

my $params = q{'{"num_boost_round": 300, "max_depth": 6, "eta": 0.05, "early_stopping_rounds": 40}'};

# start a train() in its own psql; stderr keeps its NOTICEs
sub start_train
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		'-c', $sql], '>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

# --- NOTICEs and the view, together --------------------------------------------
my ($h, $out, $err) = start_train("SET triggerstock.train_progress_every = 10; SELECT train('P', params => $params)");
my (@seen, %phases);
my $deadline = time + 300;
while ($h->pumpable && time < $deadline)
{
	my $r = $node->safe_psql('postgres', q{
		SELECT symbol, target, phase, round, rounds, coalesce(score::text, ''), coalesce(best_score::text, ''),
		       coalesce(best_round::text, ''), "rows", pid <> pg_backend_pid()
		FROM triggerstock.train_progress});
	if ($r ne '')
	{
		push @seen, [split /\|/, $r];
		$phases{ $seen[-1][2] } = 1;
	}
	$h->pump_nb;
	sleep 0.02;
}
$h->finish;
my $model = $$out;
$model =~ s/\s+//g;
like($model, qr/^\d+$/, "train() with train_progress_every = 10 returned model $model");
my %m = map { my ($k, $v) = split /\|/; $k => $v } split /\n/, $node->safe_psql('postgres', qq{
	SELECT key, value FROM triggerstock.models, jsonb_each_text(metrics) WHERE id = $model
	  AND key IN ('n_fit', 'n_train', 'best_iteration', 'validation_log_loss', 'rounds_boosted')});

# the NOTICEs
my @validate = $$err =~ /NOTICE:  train "P": validate round (\d+) of 300 on (\d+) rows, validation score ([\d.]+) \(best ([\d.]+) at round (\d+)\)/g;
my @refit = $$err =~ /NOTICE:  train "P": refit round (\d+) of (\d+) on (\d+) rows \(validation best ([\d.]+) at round (\d+)\)/g;
my $nvalidate = @validate / 5;
ok($nvalidate >= 1, "$nvalidate validation NOTICEs");
my ($rounds_ok, $best_ok, $prev_best) = (1, 1, 9);
for my $i (0 .. $nvalidate - 1)
{
	my ($round, $rows, $score, $best, $best_round) = @validate[5 * $i .. 5 * $i + 4];
	$rounds_ok &&= $round == 10 * ($i + 1) && $rows == $m{n_fit} && $best_round <= $round;
	$best_ok &&= $best <= $score + 1e-12 && $best <= $prev_best + 1e-12;
	$prev_best = $best;
}
ok($rounds_ok, "validation NOTICEs at rounds 10, 20, ... on the $m{n_fit} fit rows (n_fit)");
ok($best_ok, 'the best validation score never rises and is never above the round\'s own');
ok($nvalidate == int($m{rounds_boosted} / 10), "one NOTICE per 10 of the $m{rounds_boosted} rounds boosted before early stopping");
is(scalar(@refit), 5, 'one refit NOTICE (the last round)');
is(join(' ', @refit),
	join(' ', $m{best_iteration} + 1, $m{best_iteration} + 1, $m{n_train}, sprintf('%.6f', $m{validation_log_loss}),
		$m{best_iteration} + 1),
	'refit NOTICE: best_iteration + 1 rounds on n_train rows, the validation best as stored');
like($$err, qr/ETA of the phase [\d.]+ s/, 'the NOTICEs give an ETA');

# the view, read by another session while it ran
ok(scalar(@seen) > 0, scalar(@seen) . ' readings of train_progress while train() ran');
my ($view_ok, $grow_ok, $last_round) = (1, 1, 0);
for my $s (@seen)
{
	my ($sym, $target, $phase, $round, $rounds, $score, $best, $best_round, $rows, $other) = @$s;
	my $was = $view_ok;
	$view_ok &&= $sym eq 'P' && $target eq 'direction' && $other eq 't';
	if ($phase eq 'validate')
	{
		$view_ok &&= $rounds == 300 && $rows == $m{n_fit} && $round <= $m{rounds_boosted}
			&& ($round == 0 || ($score ne '' && $best <= $score + 1e-12 && $best_round <= $round));
		$grow_ok &&= $round >= $last_round;
		$last_round = $round;
	}
	elsif ($phase eq 'refit')
	{
		$view_ok &&= $rounds == $m{best_iteration} + 1 && $rows == $m{n_train} && $score eq ''
			&& abs($best - $m{validation_log_loss}) < 1e-12;
	}
	diag('reading ' . join('|', @$s) . ' against ' . join(', ', map { "$_ $m{$_}" } sort keys %m)) if $was && !$view_ok;
}
ok($view_ok, 'each reading: symbol P, direction, another backend; validate rounds of 300 on n_fit rows, refit best_iteration + 1 rounds on n_train rows with the stored validation best');
ok($grow_ok, 'the validate round only grows');
ok($phases{validate}, 'the validate phase was seen (phases seen: ' . join(', ', sort keys %phases) . ')');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.train_progress'), '0', 'no row once train() returned');

# --- a client that does not ask ------------------------------------------------------
($h, $out, $err) = start_train("SELECT train('P', params => '{\"num_boost_round\": 30, \"max_depth\": 2}')");
$h->finish;
unlike($$err, qr/ round \d+ of \d+/, 'no progress NOTICE without train_progress_every');

# --- a cancelled train() ---------------------------------------------------------------
($h, $out, $err) = start_train(q{SELECT train('P', params => '{"num_boost_round": 100000, "max_depth": 8, "early_stopping_rounds": 0}')});
my $pid = '';
$deadline = time + 120;
while ($pid eq '' && time < $deadline)
{
	$pid = $node->safe_psql('postgres', q{SELECT pid FROM triggerstock.train_progress WHERE phase = 'refit' AND round > 0});
	sleep 0.05;
}
like($pid, qr/^\d+$/, "the long train() is seen in its refit phase (pid $pid)");
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$h->finish;
like($$err, qr/canceling statement due to user request/, 'it was cancelled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM triggerstock.train_progress'), '0', 'no row left by the cancelled run');

$node->stop;
done_testing();
