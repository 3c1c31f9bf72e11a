# Targets other than direction, linear boosters and training windows
# (issue 15), on the real 1-minute candles of ../shared/data/candles/crypto:
#  - train(..., target => 'return' | 'volatility') on BTC (a "window" of 8
#    days) and ETH (since / until), gbtree and gblinear: for every model
#    test/python/check_target.py re-does the rule with numpy and
#    python3-xgboost (labels from the closes, split with the horizon left
#    out, rounds chosen on the validation slice, refit), and every stored
#    metric, baseline (training mean, zero, persistence, HAR by numpy
#    lstsq), Diebold-Mariano statistic and "beats" equals its
#    recomputation; predict(symbol, target) equals python3-xgboost on its
#    feature row;
#  - a gblinear direction model through check_model.py (the direction rule)
#    and predict / predict_explain;
#  - predict('BTC') keeps meaning the direction deployment beside the
#    return and volatility ones; argument errors;
#  - the predictor scores each target's deployment into predictions
#    (target, forecast) and fills outcome_value once the bucket horizon
#    buckets later is complete: it equals the realised value computed here
#    from the candles; model_live_regression reports it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ModelTest;
use IPC::Run;

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

my $node = model_node('targets');
load_candles($node);

# --- train and check against python3-xgboost --------------------------------
my %models;
my @runs = (
	['BTC', 'return', 5, q{"window" => '8 days'}, '{}'],
	['BTC', 'volatility', 10, q{"window" => '8 days'}, '{}'],
	['ETH', 'return', 1, q{until => '2017-09-04 20:00+00'}, '{}'],
	['ETH', 'volatility', 5, q{since => '2017-09-03 06:00+00'}, '{}'],
	['ETH', 'return', 3, q{since => '2017-09-03 06:00+00'}, '{"booster": "gblinear"}'],
	['ETH', 'volatility', 5, q{since => '2017-09-03 06:00+00'}, '{"booster": "gblinear"}'],
);
for my $r (@runs)
{
	my ($sym, $target, $h, $window, $params) = @$r;
	my $id = $node->safe_psql('postgres',
		"SELECT train('$sym', horizon => $h, target => '$target', params => '$params', $window)");
	like($id, qr/^\d+$/, "train('$sym', target => '$target', horizon => $h, $window, params => $params): model $id");
	$models{$id} = $r;
}

# the rows a model read: features() from its since (bounded warm-up), up to
# the newest complete bucket and its until
sub export_rows
{
	my ($id, $file) = @_;
	my ($sym, $since, $until) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT symbol, coalesce(params->>'since', ''), coalesce(params->>'until', '')
		FROM triggerstock.models WHERE id = $id});
	my $cols = $node->safe_psql('postgres', qq{
		SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
		FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $id});
	my $src = $since eq '' ? "features('$sym')"
	  : "features('$sym', '1 minute', '$since') WHERE bucket >= '$since'";
	my $and = $since eq '' ? 'WHERE' : 'AND';
	my $cap = $until eq '' ? 'infinity' : $until;
	$node->safe_psql('postgres', qq{
		COPY (SELECT bucket, close, $cols FROM $src
		      $and bucket <= least(last_complete_bucket('$sym', '1 minute'), '$cap'::timestamptz) ORDER BY bucket)
		TO '$file' WITH (FORMAT csv, HEADER true)});
}

sub run_check
{
	my ($script, $id, $what) = @_;
	export_rows($id, "$tmp/features_$id.csv");
	PostgreSQL::Test::Utils::append_to_file("$tmp/model_$id.hex",
		$node->safe_psql('postgres', "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id"));
	# the live forecast of a deployed model, with the feature row it scored
	PostgreSQL::Test::Utils::append_to_file("$tmp/meta_$id.json", $node->safe_psql('postgres', qq{
		SELECT json_build_object('metrics', m.metrics, 'params', m.params, 'horizon', m.horizon, 'target', m.target,
		       'nthread', current_setting('triggerstock.train_threads'),
		       'live', CASE WHEN (e ->> 'model_id')::bigint = m.id THEN json_build_object(
		           'forecast', (e ->> 'forecast')::float8,
		           'features', (SELECT json_agg(e -> 'features' -> f ORDER BY o)
		                        FROM unnest(m.features) WITH ORDINALITY u(f, o))) END)
		FROM triggerstock.models m, predict_explain(m.symbol, m.target) e WHERE m.id = $id}));
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(['/usr/bin/python3', "$repo/test/python/$script", "$tmp/model_$id.hex",
		"$tmp/features_$id.csv", "$tmp/meta_$id.json"], '>', \$out, '2>', \$err);
	note($out);
	ok($ok && $out !~ /^FAIL/m, "model $id ($what): python3-xgboost gives the same model, forecasts and metrics")
	  or diag($out . $err);
	# a deployed model's live forecast was compared too
	if ($node->safe_psql('postgres', "SELECT count(*) FROM triggerstock.deployed WHERE model_id = $id") eq '1')
	{
		like($out, qr/^ok predict\(symbol, '\w+'\) .* equals python3-xgboost on its feature row/m,
			"model $id is deployed: predict(symbol, target) equals python3-xgboost on the row it scored");
	}
}

for my $id (sort { $a <=> $b } keys %models)
{
	my ($sym, $target, $h, $window, $params) = @{ $models{$id} };
	run_check('check_target.py', $id, "$sym $target h=$h $params");
}
my $deployed_live = $node->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.deployed WHERE target <> 'direction'});
is($deployed_live, '4', 'the first return and volatility model of each symbol deployed itself (one per symbol and target)');

# the test-window table: each model against every baseline on the same window
diag($node->safe_psql('postgres', q{
	SELECT format('%s %-10s h=%-2s %-8s n_test %5s | mse %s mae %s r2 %s dir %s%s | ', symbol, target, horizon,
	              coalesce(params->>'booster', 'gbtree'), metrics->>'n_test',
	              round((metrics->>'mse')::numeric, 10), round((metrics->>'mae')::numeric, 6),
	              round((metrics->>'r2_oos')::numeric, 4), round((metrics->>'directional_accuracy')::numeric, 4),
	              CASE WHEN target = 'volatility' THEN ' qlike ' || round((metrics->>'qlike')::numeric, 4) ELSE '' END)
	       || (SELECT string_agg(format('%s mse %s edge %s%% DM %s%s', b.key, round((b.value->>'mse')::numeric, 10),
	                                    round((b.value->>'edge_mse_pct')::numeric, 2), round((b.value->>'dm_mse')::numeric, 2),
	                                    CASE WHEN (b.value->>'significant')::boolean THEN '*' ELSE '' END), '; ' ORDER BY b.key)
	           FROM jsonb_each(metrics->'baselines') b)
	FROM triggerstock.models ORDER BY id}));

# --- a linear direction model; predict('BTC') is still the direction one -----
my $lin = $node->safe_psql('postgres',
	q{SELECT train('BTC', params => '{"booster": "gblinear"}', "window" => '3 days')});
like($lin, qr/^\d+$/, "gblinear direction model $lin");
my $cols = $node->safe_psql('postgres', qq{
	SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
	FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $lin});
my $since = $node->safe_psql('postgres', "SELECT params->>'since' FROM triggerstock.models WHERE id = $lin");
$node->safe_psql('postgres', qq{
	COPY (SELECT bucket, close, $cols, predict('BTC', ARRAY[$cols]::float8[]) AS ours
	      FROM features('BTC', '1 minute', '$since') WHERE bucket >= '$since'
	        AND bucket <= last_complete_bucket('BTC', '1 minute') ORDER BY bucket)
	TO '$tmp/features_lin.csv' WITH (FORMAT csv, HEADER true)});
PostgreSQL::Test::Utils::append_to_file("$tmp/model_lin.hex",
	$node->safe_psql('postgres', "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $lin"));
PostgreSQL::Test::Utils::append_to_file("$tmp/meta_lin.json", $node->safe_psql('postgres', qq{
	SELECT json_build_object('metrics', metrics, 'params', params, 'horizon', horizon,
	                         'nthread', current_setting('triggerstock.train_threads'))
	FROM triggerstock.models WHERE id = $lin}));
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(['/usr/bin/python3', "$repo/test/python/check_model.py", "$tmp/model_lin.hex",
	"$tmp/features_lin.csv", "$tmp/meta_lin.json"], '>', \$out, '2>', \$err);
note($out);
ok($ok && $out !~ /^FAIL/m, 'gblinear direction model: python3-xgboost gives the same weights, predictions and metrics')
  or diag($out . $err);
is($node->safe_psql('postgres', qq{
	SELECT predict('BTC') = predict('BTC', 'direction') AND (predict_explain('BTC') ->> 'model_id')::bigint = $lin
	       AND predict_explain('BTC') ->> 'fallback_level' = 'model'
	       AND importance ->> 'ret_1' IS NOT NULL
	FROM triggerstock.models WHERE id = $lin}), 't',
	'predict(\'BTC\') serves the direction deployment (the linear model), beside the return and volatility ones');
is($node->safe_psql('postgres', q{SELECT string_agg(target, ',' ORDER BY target) FROM triggerstock.deployed WHERE symbol = 'BTC'}),
	'direction,return,volatility', 'BTC has one deployed model per target');

# --- argument errors -------------------------------------------------------------
my ($res, $stderr);
$node->psql('postgres', q{SELECT train('ETH', target => 'sideways')}, stderr => \$stderr);
like($stderr, qr/ERROR:  unknown target "sideways"/, 'unknown target refused');
$node->psql('postgres', q{SELECT train('ETH', since => '2017-09-03', "window" => '1 day')}, stderr => \$stderr);
like($stderr, qr/ERROR:  since and "window" cannot both be given/, 'since and window together refused');
$node->psql('postgres', q{SELECT train('ETH', target => 'return', since => '2030-01-01')}, stderr => \$stderr);
like($stderr, qr/ERROR:  the training window of "ETH" is empty/, 'an empty window refused');
$node->psql('postgres', q{SELECT predict('ETH', 'nope')}, stderr => \$stderr);
like($stderr, qr/ERROR:  unknown target "nope"/, 'predict() refuses an unknown target');

# --- the predictor: forecasts per target, realised values ------------------------
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM triggerstock.predictions
	WHERE symbol = 'BTC' AND target IN ('return', 'volatility') AND bucket = '2022-01-25 23:24+00'
	  AND fallback_level = 'model' AND probability IS NULL AND forecast IS NOT NULL}),
	'the predictor scored the newest complete BTC bucket for the return and the volatility deployment');
is($node->safe_psql('postgres', q{
	SELECT bool_and(abs(p.forecast - predict('BTC', p.target)) <= 1e-12 * abs(p.forecast))
	FROM triggerstock.predictions p WHERE p.symbol = 'BTC' AND p.target <> 'direction'}), 't',
	'each forecast is what predict(symbol, target) answers for that bucket');
# twenty more minutes: the buckets 5 and 10 minutes after 23:24 become complete
$node->safe_psql('postgres', q{
	INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
	SELECT 'BTC', '1 minute', b, c, c + 5, c - 5, c, 10, 0, b, b + interval '59.999 seconds'
	FROM (SELECT timestamptz '2022-01-25 23:26+00' + k * interval '1 minute' AS b,
	             36950 + 40 * sin(k) + 3 * k AS c FROM generate_series(0, 19) k) s});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM triggerstock.predictions
	WHERE symbol = 'BTC' AND target <> 'direction' AND bucket = '2022-01-25 23:24+00' AND outcome_value IS NOT NULL}),
	'outcome_value filled once the bucket horizon buckets later is complete');
# the realised values, computed here from the 1-minute candles
is($node->safe_psql('postgres', q{
	WITH c AS (SELECT bucket, close, ln(close / lag(close) OVER (ORDER BY bucket)) AS r
	           FROM triggerstock.candles WHERE symbol = 'BTC' AND bucket >= '2022-01-25 23:24+00'),
	     want AS (SELECT 'return' AS target,
	                     ln((SELECT close FROM c WHERE bucket = '2022-01-25 23:29+00')
	                        / (SELECT close FROM c WHERE bucket = '2022-01-25 23:24+00')) AS v
	              UNION ALL
	              SELECT 'volatility', greatest(sqrt(sum(r * r)), 1e-6) FROM c
	              WHERE bucket > '2022-01-25 23:24+00' AND bucket <= '2022-01-25 23:34+00')
	SELECT string_agg(format('%s %s', w.target,
	                         abs(p.outcome_value - w.v) <= 1e-12 * abs(w.v)
	                         AND p.outcome = ((SELECT close FROM c WHERE bucket = timestamptz '2022-01-25 23:24+00'
	                                           + p.horizon * interval '1 minute')
	                                          > (SELECT close FROM c WHERE bucket = '2022-01-25 23:24+00'))),
	                  ', ' ORDER BY w.target)
	FROM want w JOIN triggerstock.predictions p ON p.target = w.target
	WHERE p.symbol = 'BTC' AND p.bucket = '2022-01-25 23:24+00'}),
	'return t, volatility t',
	'outcome_value is the realised log return (5 buckets) and realised volatility (10 buckets); outcome the direction');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', l.target,
	                         l.n = 1 AND abs(l.mse - CASE WHEN l.target = 'return' THEN (p.outcome_value - p.forecast) ^ 2
	                                                      ELSE ln(p.outcome_value / p.forecast) ^ 2 END) < 1e-15
	                         AND l.baseline_mse IS NOT NULL
	                         AND (l.target = 'return') = (l.directional_accuracy IS NOT NULL)
	                         AND (l.target = 'volatility') = (l.qlike IS NOT NULL)), ', ' ORDER BY l.target)
	FROM triggerstock.model_live_regression l JOIN triggerstock.predictions p
	  ON p.symbol = l.symbol AND p.target = l.target AND p.bucket = '2022-01-25 23:24+00'
	WHERE l.symbol = 'BTC'}), 'return t, volatility t',
	'model_live_regression: the realised forecasts per (symbol, width, horizon, target) beside the training mean');
# calibration of the direction deployment, recomputed here from its rows
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM triggerstock.predictions
	WHERE symbol = 'BTC' AND target = 'direction' AND fallback_level = 'model' AND outcome IS NOT NULL}),
	'a direction forecast of BTC is realised');
is($node->safe_psql('postgres', q{
	SELECT abs(l.ece - x.ece) < 1e-12 AND jsonb_array_length(l.reliability) = x.bins AND l.n = x.n
	       AND (SELECT sum((e ->> 'n')::int) FROM jsonb_array_elements(l.reliability) e) = x.n
	FROM triggerstock.model_live_metrics l,
	     (SELECT sum(n * abs(mp - o)) / sum(n) AS ece, count(*) AS bins, sum(n) AS n
	      FROM (SELECT width_bucket(probability, 0, 1, 10) AS b, count(*) AS n, avg(probability) AS mp,
	                   avg(outcome::int) AS o
	            FROM triggerstock.predictions
	            WHERE symbol = 'BTC' AND target = 'direction' AND fallback_level = 'model' AND outcome IS NOT NULL
	            GROUP BY 1) s) x
	WHERE l.symbol = 'BTC'}), 't',
	'model_live_metrics: expected calibration error and the 10-bin reliability table equal their recomputation');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM triggerstock.latest_predictions WHERE symbol = 'BTC'}), '3',
	'latest_predictions: one row per target');

$node->stop;
done_testing();
