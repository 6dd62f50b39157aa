# Red team, round three: one answer under vectorstore.max_response_size
# takes about 90 times its size in backend memory. The setting is "Response
# data one call may hold at once"; the threat model's gzip bomb shows the
# peak bounded near it. A hostile server answers a search with a page of
# 170,000 tiny results (7 MB, under an 8 MB cap): the parsed tree (cJSON,
# malloc'd, outside the budget) and the per-row values take ~650 MB. With
# the default 64 MB cap one vs_search can take ~5 GB; a few at once exhaust
# the machine, and the OOM killer restarts every session.
# Fails today: the peak grows by ~650 MB where 8 x the cap (64 MB) would do.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use Time::HiRes qw(usleep);
use VsTest;

my $emu = VsTest::Emulator->start;
my $hdir = tempdir(CLEANUP => 1);
my $top = $ENV{TESTDIR} // '.';
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	open(STDOUT, '>', "$hdir/stdout");
	open(STDERR, '>', "$hdir/stderr");
	exec('perl', "$top/test/hostile/fanout.pl", $hdir) or POSIX::_exit(1);
}
for (1 .. 400) { last if -s "$hdir/port"; usleep(25_000); }
die "fanout server did not start" unless -s "$hdir/port";
my $hport = slurp_file("$hdir/port");
chomp $hport;

my $node = VsTest::new_node('parseamp', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');

# peak memory of a fresh session after one call (kB), and the call's error
sub peak_after
{
	my ($n, $call) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET vectorstore.base_url = 'http://127.0.0.1:$hport/flood-$n/v1'; "
		  . "SET vectorstore.max_retries = 0; SET vectorstore.max_response_size = '8MB'; "
		  . "SELECT count(*) FROM ($call) c; "
		  . "SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*(\\d+) kB')",
		on_error_stop => 0);
	my @n = $out =~ /^(\d+)$/mg;
	die "no VmHWM in '$out' ($err)" unless @n;
	return ($n[-1], $err);
}

my ($base) = peak_after(1, "SELECT * FROM vectorstore.vs_search('vs_1', 'q', max_num_results => 1)");
for my $call ("SELECT * FROM vectorstore.vs_search('vs_1', 'q', max_num_results => 1)",
	"SELECT vectorstore.vs_search_json('vs_1', 'q', max_num_results => 1)")
{
	my ($peak, $err) = peak_after(170000, $call);
	note("$call: peak $peak kB (one result: $base kB) $err");
	cmp_ok($peak - $base, '<', 8 * 8 * 1024,
		"$call: a 7 MB answer (8 MB cap) grows the backend by less than 64 MB");
}

$node->stop;
kill 'TERM', $hpid;
waitpid($hpid, 0);
$emu->stop;
done_testing();
