# Decisions and signals (issue 15), end to end on real candles
# (btc_perp_1m_2021-12-31_2022-02-01.csv of ../shared/data/candles/crypto):
#  - a direction model of symbol SG is deployed with two enabled rules (a
#    narrow band with a 2-minute cooldown, and a wide band), a disabled
#    rule, a rule of another symbol, and two hostile rules past their
#    dropped constraints (a NaN threshold, an inverted band), skipped;
#  - the last 10 minutes of the file are fed one at a time; the predictor
#    scores each newest complete bucket and, in the same transaction,
#    writes one signal per enabled rule;
#  - a second connection LISTENs on triggerstock_signals and sees each
#    committed signal exactly once: one notification per signals row, no
#    other, each sent by the predictor worker, its payload equal to the
#    stored row field by field (jsonb_populate_record of the payload IS NOT
#    DISTINCT FROM the row, and the same text as row_to_json of the row);
#  - while a trigger makes the signals INSERT fail, the predictor's pass
#    rolls back the prediction with its signals, nothing is notified, and
#    the bucket is scored, decided and notified once when it succeeds;
#  - every decision is recomputed here from the prediction's probability,
#    the thresholds and the cooldown (a trade within 2 minutes of the
#    rule's previous trade is none / cooldown), and every signal carries
#    its prediction's probability, model id, sha256 and fallback level.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ModelTest;
use Time::HiRes qw(time sleep);
use POSIX qw(strftime);
use Time::Local qw(timegm);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $csv = "$shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv";

# the minutes of the file (UTC epoch)
my @minutes;
open(my $fh, '<', $csv) or die "$csv: $!";
<$fh>;
while (my $line = <$fh>)
{
	my ($y, $mo, $d, $hh, $mi) = $line =~ /^(\d+)-(\d+)-(\d+) (\d+):(\d+)/ or die "bad line $line";
	push @minutes, timegm(0, $mi, $hh, $d, $mo - 1, $y);
}
close $fh;
@minutes = sort { $a <=> $b } @minutes;
my $nfed = 10;
my $first_fed = $minutes[-$nfed];
sub ts_of { return strftime('%Y-%m-%d %H:%M:%S', gmtime($_[0])); }

my $node = model_node('signals');
$node->safe_psql('postgres', qq{
	CREATE TABLE stage (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
	COPY stage FROM '$csv' WITH (FORMAT csv, HEADER true);
	CREATE FUNCTION feed(from_ts timestamp, to_ts timestamp) RETURNS void LANGUAGE sql AS \$\$
	    INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
	                                      open_time, close_time)
	    SELECT 'SG', interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
	           ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
	    FROM stage WHERE ts >= from_ts AND ts <= to_ts
	\$\$;});
$node->safe_psql('postgres', "SELECT feed('" . ts_of($first_fed - 2 * 86400) . "', '" . ts_of($first_fed - 60) . "')");

# the rules first, then the model: the first scored bucket is decided too
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown) VALUES ('SG', 0.5, 0.5, '2 minutes');
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SG', 0.99, 0.01);
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, enabled) VALUES ('SG', 0.5, 0.5, false);
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('OTHER', 0.5, 0.5);});
# hostile rules past their constraints (dropped by the owner): a NaN threshold
# and an inverted band are skipped by the predictor, never decided on, and the
# other rules go on
$node->safe_psql('postgres', q{
	ALTER TABLE triggerstock.signal_rules DROP CONSTRAINT signal_rules_thresholds_finite,
	    DROP CONSTRAINT signal_rules_band_ordered, DROP CONSTRAINT signal_rules_probability_range;
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SG', 'NaN', 0.5);
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SG', 0.2, 0.8);});
my %rule = (1 => [0.5, 0.5, 120], 2 => [0.99, 0.01, 0]);

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN triggerstock_signals');
my %seen;          # signal id -> number of notifications
my @payloads;
my $pids = '';
# the notifications psql printed since the last call
sub collect
{
	my $out = $listener->query_safe('SELECT 1');
	while ($out =~ /Asynchronous notification "triggerstock_signals" with payload "(.*)" received from server process with PID (\d+)\./g)
	{
		my ($payload, $pid) = ($1, $2);
		push @payloads, [$payload, $pid];
		my ($id) = $payload =~ /"id":(\d+)/ or die "no id in $payload";
		$seen{$id}++;
	}
}

my $model = $node->safe_psql('postgres', q{SELECT train('SG', params => '{"num_boost_round": 20, "max_depth": 3}')});
like($model, qr/^\d+$/, "model $model trained and deployed");

my $session = $node->background_psql('postgres');
# wait until the newest complete bucket is scored and decided by both rules
sub wait_scored
{
	my ($bucket) = @_;
	my $deadline = time + 60;
	while (time < $deadline)
	{
		my $n = $session->query_safe(qq{SELECT count(*) FROM triggerstock.signals WHERE bucket = to_timestamp($bucket)});
		return 1 if $n == 2;
		sleep 0.05;
	}
	diag("bucket $bucket: not decided in time");
	return 0;
}
# a switch that makes the signals INSERT fail: the predictor's pass for that
# bucket rolls back, prediction and signals alike, and sends nothing
$node->safe_psql('postgres', q{
	CREATE TABLE public.fail_signals (why text);
	CREATE FUNCTION public.refuse_signal() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    IF EXISTS (SELECT 1 FROM public.fail_signals) THEN
	        RAISE EXCEPTION 'signals refused by the test';
	    END IF;
	    RETURN NEW;
	END $$;
	CREATE TRIGGER refuse_signal BEFORE INSERT ON triggerstock.signals
	    FOR EACH ROW EXECUTE FUNCTION public.refuse_signal();});
my $ok = wait_scored($first_fed - 120);
my ($refused_rows, $refused_notified) = ('', '');
my $nth = 0;
for my $m (@minutes[-$nfed .. -1])
{
	my $ts = ts_of($m);
	$nth++;
	$session->query_safe(q{INSERT INTO public.fail_signals VALUES ('test')}) if $nth == 5;
	$session->query_safe("SELECT feed('$ts', '$ts')");
	if ($nth == 5)
	{
		sleep 3;    # three passes of the predictor, each rolled back
		my $b = $m - 60;
		$refused_rows = $session->query_safe(qq{
			SELECT (SELECT count(*) FROM triggerstock.predictions WHERE bucket = to_timestamp($b)) || ' '
			    || (SELECT count(*) FROM triggerstock.signals WHERE bucket = to_timestamp($b))});
		collect();
		my $iso = $session->query_safe(qq{SELECT to_json(to_timestamp($b))::text});
		$refused_notified = scalar(grep { index($_->[0], "\"bucket\":$iso") >= 0 } @payloads);
		$session->query_safe('DELETE FROM public.fail_signals');
	}
	$ok &&= wait_scored($m - 60);
	collect();
}
is("$refused_rows $refused_notified", '0 0 0',
	'while the signals INSERT fails, the prediction and its signals roll back together and nothing is notified');
like(slurp_file($node->logfile), qr/predictor could not score "SG": signals refused by the test/,
	'the predictor logged the failure as a WARNING and went on');
ok($ok, "each of $nfed fed minutes: the newest complete bucket scored and decided by both enabled rules");
my $nsignals = $session->query_safe('SELECT count(*) FROM triggerstock.signals');
is($nsignals, 2 * ($nfed + 1), 'two signals per scored bucket: the disabled rule, the rule of another symbol and the hostile rules wrote none');

# the notifications still in flight
my $deadline = time + 30;
while (scalar(keys %seen) < $nsignals && time < $deadline)
{
	sleep 0.1;
	collect();
}
sleep 1;
collect();
my @ids = split /\n/, $session->query_safe('SELECT id FROM triggerstock.signals ORDER BY id');
is(join(',', map { "$_:" . ($seen{$_} // 0) } @ids), join(',', map { "$_:1" } @ids),
	"each of the $nsignals committed signals notified exactly once");
is(scalar(@payloads), $nsignals, 'and no other notification');
my $predictor_pid = $session->query_safe(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'triggerstock predictor'});
my %pid = map { $_->[1] => 1 } @payloads;
is(join(',', sort keys %pid), $predictor_pid, 'every notification came from the predictor worker');

# every payload equals its row, field by field
my ($same, $same_text) = (0, 0);
for my $p (@payloads)
{
	my ($payload) = @$p;
	die 'payload holds the dollar quote' if $payload =~ /\$pl\$/;
	my ($a, $b) = split /\|/, $session->query_safe(qq{
		SELECT jsonb_populate_record(NULL::triggerstock.signals, \$pl\$$payload\$pl\$::jsonb) IS NOT DISTINCT FROM s,
		       row_to_json(s)::text = \$pl\$$payload\$pl\$
		FROM triggerstock.signals s WHERE s.id = (\$pl\$$payload\$pl\$::jsonb ->> 'id')::bigint});
	$same++ if $a eq 't';
	$same_text++ if $b eq 't';
}
is("$same $same_text", scalar(@payloads) . ' ' . scalar(@payloads),
	'every payload equals the stored row (typed, every column; and as text)');
is($session->query_safe(q{SELECT count(*) FROM (SELECT * FROM triggerstock.signals ORDER BY id LIMIT 1) s, jsonb_object_keys(row_to_json(s)::jsonb) k}),
	$session->query_safe(q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'triggerstock.signals'::regclass AND attnum > 0 AND NOT attisdropped}),
	'a payload carries every column');

# every decision against the rule, recomputed here
my $rows = $session->query_safe(q{
	SELECT s.rule_id, extract(epoch FROM s.bucket)::bigint, s.decision, s.reason, p.probability,
	       (s.probability IS NOT DISTINCT FROM p.probability AND s.forecast IS NULL
	        AND s.model_id IS NOT DISTINCT FROM p.model_id AND s.model_sha256 IS NOT DISTINCT FROM p.model_sha256
	        AND s.fallback_level = p.fallback_level AND s.width = p.width AND s.horizon = p.horizon
	        AND s.target = p.target AND s.symbol = p.symbol),
	       p.fallback_level, p.model_id
	FROM triggerstock.signals s
	JOIN triggerstock.predictions p USING (symbol, width, horizon, target, bucket)
	ORDER BY s.rule_id, s.bucket});
my (%last_trade, $bad, $n, %decisions);
for my $r (split /\n/, $rows)
{
	my ($rule, $b, $decision, $reason, $p, $same_as_prediction, $level, $mid) = split /\|/, $r;
	my ($long, $short, $cooldown) = @{ $rule{$rule} };
	my ($want, $why) = $level ne 'model' ? ('none', 'fallback')
	  : $p > $long ? ('long', 'long_above') : $p < $short ? ('short', 'short_below') : ('none', 'band');
	if ($want ne 'none' && defined $last_trade{$rule} && $b - $last_trade{$rule} < $cooldown)
	{
		($want, $why) = ('none', 'cooldown');
	}
	$last_trade{$rule} = $b if $want ne 'none';
	$n++;
	$decisions{"$rule $decision $reason"}++;
	if ("$decision $reason" ne "$want $why" || $same_as_prediction ne 't' || $mid ne $model)
	{
		$bad++;
		diag("rule $rule bucket $b p $p: $decision $reason, want $want $why ($same_as_prediction, $level, $mid)");
	}
}
is("$n " . ($bad // 0), "$nsignals 0", 'every decision follows its rule (thresholds, band, cooldown) and carries its prediction');
note(join(', ', map { "$_: $decisions{$_}" } sort keys %decisions));
ok(($decisions{'1 none cooldown'} // 0) > 0 && (($decisions{'1 long long_above'} // 0) + ($decisions{'1 short short_below'} // 0)) > 0,
	'the narrow rule traded and was held back by its cooldown');
is($decisions{'2 none band'}, $nfed + 1, 'the wide rule abstained on every bucket (band)');

# nothing more while nothing new is complete
sleep 3;
collect();
is(scalar(@payloads), $nsignals, 'no notification while nothing new is complete');

$listener->quit;
$session->quit;
$node->stop;
done_testing();
