# Red team round nine: polls take no room and are never withdrawn. A
# poll claim (_job_claim_polls, up to 64 batches) leaves out only the
# credentials whose room is 0 at that moment; vq_step_poll has no withdraw;
# and a poll its server holds past the slow mark (2 s) takes no slot, so the
# flights start the next ones. A server that makes file batches and never
# answers a poll of one (a role's 100 uploads to 100 stores: 100 batches)
# holds dozens of polls at once with worker_concurrency = 4, more every 2 s,
# up to a claim's 64 (and again as they time out).
# Found: 52 polls held 25 s after the first (104 fds open in the worker).
# What should have happened: a slow credential keeps at most about
# worker_concurrency units open, polls included ("a slow credential keeps
# at most worker_concurrency units open, which bounds how many it can
# hold", doc/worker.md).
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
		open(STDOUT, '>', "$dir/stdout");
	open(STDERR, '>', "$dir/stderr");
	exec('perl', ($ENV{TESTDIR} // '.') . '/test/hostile/holdpolls.pl', $dir) or POSIX::_exit(1);
}
END { kill 'TERM', -$hpid if $hpid; }
for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
die 'server did not start' unless -s "$dir/port";
my $hport = slurp_file("$dir/port");
chomp $hport;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('holdpolls', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s', reconcile => '2s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 4" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
    CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
$node->safe_psql('postgres', "SET vectorstore.credential = 'h1';
    SELECT count(vectorstore.vs_enqueue_upload('vs_' || i, 'm' || i || '.txt', 'm ' || i)) FROM generate_series(1, 100) i",
	extra_params => [ '-U', 'mallory' ]);

sub polls
{
	my $k = 0;
	open(my $fh, '<', "$dir/requests") or return 0;
	while (<$fh>) { $k++ if m{^GET \S*/file_batches/}; }
	close $fh;
	return $k;
}
my $t0 = time;
while (time - $t0 < 30) { last if polls() > 0; usleep(100_000); }
ok(polls() > 0, 'the worker polls');
usleep(25_000_000);
my $held = polls();   # none is answered, none has timed out yet (60 s)
my $wpid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' LIMIT 1");
my $fds = $wpid ? scalar(() = glob("/proc/$wpid/fd/*")) : -1;
diag(sprintf("held polls 25 s after the first: %d; the worker has %d fds open; jobs: %s", $held, $fds,
	sq("SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM vectorstore.job GROUP BY 1) s")));
cmp_ok($held, '<=', 16,
	"a server holding polls is held at most about worker_concurrency (4) of them, not more every 2 s");

$node->stop('immediate');
kill 'TERM', -$hpid;
waitpid($hpid, 0);
$hpid = 0;
$emu->stop;
done_testing();
