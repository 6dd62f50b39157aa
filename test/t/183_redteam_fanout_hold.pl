# Red team, round three: a hostile server makes vs_search_many hold rows
# without bound. vs_search_many holds the rows of answers that arrive before
# an earlier query's (so the output is in input order); the threat model
# says at most max_num_results per query are held and that
# vectorstore.max_response_size bounds what one call holds. A server that
# stalls queries[1] and answers every other query with many results (more
# than max_num_results, each body under max_response_size) makes the held
# rows grow with the number of queries, far past max_response_size.
# The same for a search table (vectorstore_fdw) with query = ANY(...), which
# keeps every query's parsed page until the last has answered.
# Fails today: 2 rows per query where max_num_results is 1, and the
# backend's peak memory grows by hundreds of MB with an 8 MB cap.
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

my $node = VsTest::new_node('fanhold', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');

sub settings
{
	my ($n) = @_;
	return "SET vectorstore.base_url = 'http://127.0.0.1:$hport/flood-$n/v1'; "
	  . "SET vectorstore.max_retries = 0; SET vectorstore.max_response_size = '8MB'; ";
}

# More results than asked for: one search of 2 hits with max_num_results 1.
my $rows = $node->safe_psql('postgres', settings(2)
	  . "SELECT count(*) FROM vectorstore.vs_search_many('vs_1', ARRAY['a','b'], max_num_results => 1)");
is($rows, '2', 'at most max_num_results rows per query (2 queries, max_num_results 1)');

# queries[1] stalls (ended by vectorstore.timeout); the others answer with
# 60,000 results each (about 2.5 MB, under the 8 MB cap), one at a time.
sub peak_kb
{
	my ($nq) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', settings(60000)
		  . "SET vectorstore.timeout = '4s'; "
		  . "SELECT count(*) FROM vectorstore.vs_search_many('vs_1', "
		  . "ARRAY['stall'] || (SELECT array_agg('q' || g) FROM generate_series(1, $nq) g), "
		  . "max_num_results => 1, max_concurrency => 2); "
		  . "SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*(\\d+) kB')",
		on_error_stop => 0);
	note("$nq queries: $err");
	my @n = $out =~ /^(\d+)$/mg;	# the count (if it succeeds), then VmHWM
	die "no VmHWM in '$out'" unless @n;
	return $n[-1];
}
my $small = peak_kb(2);
my $large = peak_kb(16);
note("peak memory: 2 queries $small kB, 16 queries $large kB");
cmp_ok($large - $small, '<', 32 * 1024,
	'the rows held for a stalled query stay bounded (growth from 2 to 16 queries under 4 x max_response_size)');

# The same through a search table: query = ANY(...) keeps every query's
# parsed page until all have answered. 20,000 results each (about 840 kB,
# eight in flight under the 8 MB cap).
$node->safe_psql('postgres', "CREATE FOREIGN TABLE s (query text, file_id text, score float8, "
	  . "max_num_results int) SERVER vectorstore OPTIONS (vector_store_id 'vs_1')");
$rows = $node->safe_psql('postgres', settings(2)
	  . "SELECT count(*) FROM s WHERE max_num_results = 1 AND query = ANY(ARRAY['a','b'])");
is($rows, '2', 'search table: at most max_num_results rows per query (2 queries, max_num_results = 1)');

sub table_peak_kb
{
	my ($nq) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', settings(20000)
		  . "SELECT count(*) FROM s WHERE max_num_results = 1 AND "
		  . "query = ANY(ARRAY(SELECT 'q' || g FROM generate_series(1, $nq) g)); "
		  . "SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*(\\d+) kB')",
		on_error_stop => 0);
	note("search table, $nq queries: $err");
	my @n = $out =~ /^(\d+)$/mg;	# the count (if it succeeds), then VmHWM
	die "no VmHWM in '$out'" unless @n;
	return $n[-1];
}
$small = table_peak_kb(2);
$large = table_peak_kb(24);
note("search table peak memory: 2 queries $small kB, 24 queries $large kB");
cmp_ok($large - $small, '<', 32 * 1024,
	'search table: what query = ANY(...) holds stays bounded (growth from 2 to 24 queries under 4 x max_response_size)');

$node->stop;
kill 'TERM', $hpid;
waitpid($hpid, 0);
$emu->stop;
done_testing();
