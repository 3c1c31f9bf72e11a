# NewsTest: the local HTTP server of the news TAP tests.
#  - start_news_server(state_dir): runs test/news_server.py (127.0.0.1, the
#    real feeds of ../shared/data plus the failure-case endpoints), waits
#    until it has written its port, returns (base URL, port).  Every server
#    started is stopped by its pid when the test ends.
package NewsTest;
use strict;
use warnings;
use Exporter 'import';
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Utils;

our @EXPORT = qw(start_news_server);

my @news_server_pids;
END { kill 'TERM', $_ for @news_server_pids; }

sub start_news_server
{
	my ($state) = @_;
	my $shared = $ENV{TRIGGERSTOCK_SHARED} or die "TRIGGERSTOCK_SHARED is not set";
	my $repo = $ENV{TRIGGERSTOCK_REPO} or die "TRIGGERSTOCK_REPO is not set";
	my $pid = fork();

	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		exec('/usr/bin/python3', "$repo/test/news_server.py", "$shared/data", $state)
		  or die "cannot start the test server: $!";
	}
	push @news_server_pids, $pid;
	for (1 .. 100) { last if -f "$state/port"; usleep(100_000); }
	die "the news test server did not start" unless -f "$state/port";
	my $port = slurp_file("$state/port");
	return ("http://127.0.0.1:$port", $port);
}

1;
