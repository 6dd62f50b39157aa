# Red team round nine: held transfers take no slot (vs_flights_set_held),
# and "a slow credential keeps at most worker_concurrency units open, which
# bounds how many it can hold" -- but the sweep's duplicate deletes are not
# claimed units: sw_after makes one unit per duplicate and sends them all
# (vq_step_sweep_delete has no withdraw, no room). A hostile server at a
# credential's base URL learns every file name it is sent (the marker with
# the job's id and secret), loses one upload's answer so the worker sweeps,
# lists thousands of "late duplicates" of a known job, and holds every
# DELETE. Each held request stops counting after 2 s, so the worker starts
# more and more: with worker_concurrency = 4 and vectorstore.timeout at its
# default (60 s) the server holds dozens of requests (sockets, curl
# handles) after 25 s, growing by about worker_concurrency every 2 s until
# the timeout (about 240 at the defaults, concurrency 8), and thousands of
# pending transfers are queued in the worker's memory.
# What should have happened: a credential whose server holds requests keeps
# at most about worker_concurrency of them open, whatever step they come
# from.
use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $dir = tempdir(CLEANUP => 1);
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	POSIX::setpgid(0, 0);
	$ENV{NDUP} = 5000;
	open(STDOUT, '>', "$dir/stdout");
	open(STDERR, '>', "$dir/stderr");
	exec('perl', ($ENV{TESTDIR} // '.') . '/test/hostile/dupdeletes.pl', $dir) or POSIX::_exit(1);
}
END { kill 'TERM', -$hpid if $hpid; }
for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
die 'server did not start' unless -s "$dir/port";
my $hport = slurp_file("$dir/port");
chomp $hport;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('dupdelete', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s', reconcile => '2s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 4" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
    SET vectorstore.credential = 'h1';
    SELECT vectorstore.vs_enqueue_upload('vs_x', 'a.txt', 'hello');");
for (1 .. 200) { last if -s "$dir/known"; usleep(50_000); }
ok(-s "$dir/known", 'the server saw a marked file name');
# an upload whose answer the server loses: the worker sweeps h1
sq("SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_x', 'b.txt', 'LOSE')");

sub dup_deletes
{
	my $k = 0;
	open(my $fh, '<', "$dir/requests") or return 0;
	while (<$fh>) { $k++ if m{DELETE \S*/files/file-dup}; }
	close $fh;
	return $k;
}
my $t0 = time;
while (time - $t0 < 30) { last if dup_deletes() > 0; usleep(100_000); }
my $first = time - $t0;
ok(dup_deletes() > 0, 'the worker sends duplicate deletes');
usleep(25_000_000);
my $held = dup_deletes();   # none is answered, none has timed out yet (60 s)
my $wpid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' LIMIT 1");
my $fds = $wpid ? scalar(() = glob("/proc/$wpid/fd/*")) : -1;
my $rss = '';
if ($wpid && open(my $st, '<', "/proc/$wpid/status")) { ($rss) = grep { /^VmRSS/ } <$st>; close $st; chomp $rss if $rss; }
diag(sprintf("first duplicate delete %.1f s after the lost upload; held DELETEs 25 s later: %d; "
	. "the worker (pid %s) has %d fds open, %s", $first, $held, $wpid || '?', $fds, $rss || '?'));
diag(sq("SELECT backend_type, count(*) FROM pg_stat_activity GROUP BY 1 ORDER BY 1"));
cmp_ok($held, '<=', 16,
	"a server holding requests is held at most about worker_concurrency (4) of them, not more every 2 s");

$node->stop('immediate');
kill 'TERM', -$hpid;
waitpid($hpid, 0);
$hpid = 0;
$emu->stop;
done_testing();
