# Every function of the extension that SQL can call, called with hostile
# arguments (test/tools/hostile_calls.py, fixed seeds): NULLs, empty and
# 100 kB texts, NaN and infinities, extreme intervals and timestamps,
# malformed and huge JSON parameters, huge and nested arrays, ohlcv values
# with a truncated state; as a triggerstock_admin member and as superuser,
# in a database with real candles, two deployed models, online feature rows
# and a signal rule.  Passes when:
#  - no call raised an internal error (SQLSTATE XX000): every refusal
#    carries its own errcode;
#  - the connection was never lost and no backend crashed (the server log
#    has no "terminated by signal", PANIC or TRAP).
# It failed before the 3660-day partition checks were made in seconds
# (create_book_partitions over the widest finite range ran away) and before
# import paths over 1023 bytes were refused (XX000 from open()).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ModelTest;
use IPC::Run;

my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";

my $node = model_node('hostile_calls', "track_functions = all\n");
load_candles($node);
$node->safe_psql('postgres', q{
	SELECT serve_features('BTC', '1 minute');
	SELECT train('BTC', params => '{"num_boost_round": 20}');
	SELECT train('BTC', target => 'return', params => '{"num_boost_round": 20}');
	INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('BTC', 0.55, 0.45);
	CREATE ROLE smith LOGIN IN ROLE triggerstock_admin;
});

# [role, seed, random argument sets per function]
for my $run ([ 'smith', 9, 40 ], [ scalar(getpwuid($<)), 8, 15 ])
{
	my ($role, $seed, $per) = @$run;
	my $dsn = 'host=' . $node->host . ' port=' . $node->port . " dbname=postgres user=$role";
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ '/usr/bin/python3', "$repo/test/tools/hostile_calls.py", $dsn, $seed, $per ],
		'>', \$out, '2>', \$err);
	my ($calls) = $out =~ /^(calls: \d+)/m;
	my ($internal) = $out =~ /^internal errors \(XX000\) in (\d+) functions/m;
	ok($ok && defined $internal && $internal == 0,
		"as $role (seed $seed): " . ($calls // 'no calls') . ', no internal error, the connection kept')
	  or diag("$out\n$err");
	note($out);
}

my $log = slurp_file($node->logfile);
my @crash = $log =~ /^.*(?:terminated by signal|PANIC|TRAP:).*$/mg;
is(scalar(@crash), 0, 'no backend crashed' . (@crash ? ": $crash[0]" : ''));
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');

$node->stop;
done_testing();
