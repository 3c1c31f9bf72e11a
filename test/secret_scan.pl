#!/usr/bin/perl
# test/secret_scan.pl SECRETS_FILE LOG...
#   Fails (exit 1, listing file:line) when a secret value of SECRETS_FILE
#   appears in a server log written by the extension or the server itself.
#   Log entries that only echo what the test client sent are skipped: the
#   TAP clusters run with log_statement = all, so "LOG:  statement: ...",
#   "STATEMENT:  ..." and "DETAIL:  parameters: ..." entries (and their
#   continuation lines) carry the client's own SQL, secrets included.
use strict;
use warnings;

my ($secrets_file, @logs) = @ARGV;
open(my $sf, '<', $secrets_file) or die "cannot read $secrets_file: $!";
my @secrets = grep { length && !/^#/ } map { s/\s+$//r } <$sf>;
close $sf;

my $leaks = 0;
for my $log (@logs)
{
	open(my $fh, '<', $log) or next;
	my $skip = 0;
	while (my $line = <$fh>)
	{
		# a new entry starts with a timestamp; continuation lines do not
		if ($line =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
		{
			$skip = $line =~ /\b(?:LOG|DEBUG\d?):  (?:statement|execute [^:]*): /
			  || $line =~ /\bSTATEMENT:  / || $line =~ /\bDETAIL:  parameters: /;
		}
		next if $skip;
		for my $s (@secrets)
		{
			next if index($line, $s) < 0;
			print "$log:$.: secret \"$s\" in: $line";
			$leaks++;
		}
	}
	close $fh;
}
printf "secret_scan: %d server logs, %d secrets, %d leaks\n", scalar(@logs), scalar(@secrets), $leaks;
exit($leaks ? 1 : 0);
