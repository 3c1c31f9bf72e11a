# ModelTest: helpers shared by the TAP tests of models, serving and the
# extension's functions.
#  - model_node(NAME, EXTRA): a started cluster with the launcher preloaded
#    (triggerstock.database = postgres) and the extension created in
#    database postgres; EXTRA is appended to postgresql.conf;
#  - load_candles(NODE): the real candles of test/sql/load_candles.sql
#    (one check, "real candles loaded").
package ModelTest;
use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(model_node load_candles);

my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";

sub model_node
{
	my ($name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
max_worker_processes = 16
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION triggerstock');
	return $node;
}

sub load_candles
{
	my ($node) = @_;
	$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "shared=$shared",
		'-d', $node->connstr('postgres'), '-f', "$repo/test/sql/load_candles.sql"], 'real candles loaded');
}

1;
