# Exactly once under crashes and faults: the worker killed with SIGKILL three
# times and the server stopped in immediate mode once during ingestion, then
# an ingestion with 20% injected faults (429, 500, connection resets, stalls
# longer than the timeout, malformed JSON). Every job ends as exactly one attached file: no
# duplicate uploads and no orphans (files on the server = jobs = files in
# the store).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
my $T0 = time;
sub stamp { note(sprintf('%.1f s: %s', time - $T0, $_[0])); }
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 20);
my $node = VsTest::new_node('crash', $emu, conf => [
	"vectorstore.worker_reconcile_delay = '2s'",
	"vectorstore.timeout = '1500ms'",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '1s'",
	"vectorstore.worker_poll_interval = '100ms'",
	"vectorstore.worker_batch_size = 20",
	"vectorstore.worker_concurrency = 4",
	"vectorstore.worker_max_attempts = 50",
	"restart_after_crash = on",
]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub files_on_server { return scalar @{ $emu->control('GET', '/v1/files?limit=10000')->{data} // [] }; }
sub store { return $emu->control('GET', "/v1/vector_stores/$_[0]"); }
sub worker_pid
{
	my $pid;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'") or die;
	return sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'");
}
sub wait_idle
{
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled')")
	  or die 'queue did not drain';
}

sq('CREATE EXTENSION vectorstore');
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'crash')");

# --- part 1: kills during ingestion
my $n1 = 600;
# slow every fifth upload down (but within the timeout) so kills land mid-flight
$emu->fault({ kind => 'stall', rate => 0.2, stall_ms => 400, route => '/files', method => 'POST' });
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'k' || g || '.txt', 'crash test file ' || g)
    FROM generate_series(1, $n1) g");
for my $round (1 .. 3)
{
	my $pid = worker_pid();
	# uploads run ahead of attaches (each unit is recorded as it finishes):
	# count the jobs past their upload, so the kills still land while uploads
	# are in flight
	$node->poll_query_until('postgres',
		"SELECT count(*) >= $round * 100 FROM vectorstore.job WHERE status NOT IN ('queued', 'uploading')") or die;
	my $done = sq("SELECT count(*) FROM vectorstore.job WHERE status = 'completed'");
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM vectorstore.job WHERE status = 'uploading'") or die;
	kill 'KILL', $pid;
	note("round $round: SIGKILL worker $pid with $done jobs completed");
	# the postmaster reinitializes; wait until we can connect again (a psql
	# started while it does may exit before reading its query: IPC::Run then
	# dies writing it, "Broken pipe", which is not a failure of the test)
	my $up = 0;
	for (1 .. 100)
	{
		$up = eval { $node->poll_query_until('postgres', 'SELECT true') };
		last if $up;
		usleep(200_000);
	}
	$up or die 'the server did not come back';
}
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM vectorstore.job WHERE status = 'uploading'") or die;
$node->stop('immediate');
note('server stopped in immediate mode');
$node->start;
my $left = sq("SELECT count(*) FROM vectorstore.job WHERE status <> 'completed'");
ok($left > 0, "ingestion was still under way after the crashes ($left jobs left)");
$emu->clear_faults;
wait_idle();
stamp('part 1 drained');
is(sq("SELECT count(*) FROM vectorstore.job WHERE status = 'completed'"), $n1, 'every job completed');
is(sq("SELECT count(DISTINCT file_id) FROM vectorstore.job"), $n1, 'each with its own file');
$node->poll_query_until('postgres',
	"SELECT sweep_due_at IS NULL FROM vectorstore.worker_status") or die;
is(files_on_server(), $n1, 'files on the server = jobs (no duplicate uploads, no orphans)');
is(store($vs)->{file_counts}{completed}, $n1, 'files in the store = jobs');
stamp('part 1 checked');
my $crashes = () = slurp_file($node->logfile) =~ /vectorstore worker.*terminated by signal 9/g;
is($crashes, 3, 'the worker was killed three times');

# --- part 2: 20% faults during a sync
my $n2 = 800;
sq("CREATE TABLE docs (id int PRIMARY KEY, body text);
    INSERT INTO docs SELECT g, 'faulty ' || g FROM generate_series(1, $n2) g;");
my $vs2 = sq("SELECT id FROM vectorstore.vs_store_create(name => 'faults')");
$emu->fault({ faults => [
	{ kind => '429', rate => 0.05, retry_after => '1' },
	{ kind => '500', rate => 0.04 },
	{ kind => 'reset', rate => 0.04 },
	{ kind => 'stall', rate => 0.04, stall_ms => 2500 },
	{ kind => 'malformed_json', rate => 0.03 },
] });
# bigger claims now: fewer passes, each waiting at most one timeout for a stall
sq("ALTER SYSTEM SET vectorstore.worker_batch_size = 200;
    ALTER SYSTEM SET vectorstore.worker_concurrency = 16; SELECT pg_reload_conf();");
sq("SELECT vectorstore.vs_sync_create('docs', 'docs', '$vs2', 'id', 'body')");
sq("SELECT vectorstore.vs_sync_run('docs')");
stamp('part 2 queued');
wait_idle();
stamp('part 2 drained');
my $fired = 0;
$fired += $_->{matched} for @{ $emu->control('GET', '/_emulator/faults')->{faults} };
ok($fired > 20, "faults were injected ($fired)");
$emu->clear_faults;
is(sq("SELECT count(*) FROM vectorstore.job WHERE sync_name = 'docs' AND status = 'completed'"), $n2,
	'every sync job completed despite the faults');
# late landings of stalled uploads are found by the follow-up sweep
ok($node->poll_query_until('postgres',
	"SELECT sweep_due_at IS NULL AND last_sweep_at < now() - interval '3 s' FROM vectorstore.worker_status"),
	'sweeps settled');
sleep 3;
$node->poll_query_until('postgres', "SELECT sweep_due_at IS NULL FROM vectorstore.worker_status") or die;
is(files_on_server(), $n1 + $n2, 'files on the server = jobs (duplicates from lost answers deleted)');
is(store($vs2)->{file_counts}{completed}, $n2, 'files in the store = rows');
is(store($vs2)->{file_counts}{total}, $n2, 'nothing else in the store');
note('worker_status: ' . sq("SELECT files_uploaded || ' uploaded, ' || duplicates_deleted || ' duplicates deleted' FROM vectorstore.worker_status"));

# --- a lost answer whose upload lands after the reconcile delay: the job is
# uploaded again, and the late file is found and deleted by the follow-up sweep
my $dups = sq("SELECT duplicates_deleted FROM vectorstore.worker_state");
# The window is made wide: with a reconcile delay of 6 s (above the 3 s
# vectorstore.timeout), the answer is cut at 3 s and recorded lost; the
# upload's lease (the reconcile delay, from its claim) ends at about 6 s,
# when the sweep lists and finds nothing (the job is sent again), and its
# follow-up lists 6 s after that, at about 12 s. The stalled upload lands at
# 9 s, between the two listings, 3 s from each (a loaded machine delays the
# listings by passes): the follow-up finds it, a duplicate of a finished
# job. (Landing before the first listing, it would be adopted - also right,
# but not what this checks; at 12 s, as it was, it raced the follow-up.)
# (a restart, not a reload: a reload reaches the worker at its next pass,
# which a loaded machine had delayed past the upload, sent with 2 s)
sq("ALTER SYSTEM SET vectorstore.worker_reconcile_delay = '6s'");
$node->restart;
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'") or die 'no worker';
$emu->clear_requests;
$emu->fault({ kind => 'stall', count => 1, stall_ms => 9000, route => '/files', method => 'POST' });
my $jl = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'late.txt', 'late landing')");
my $t_late = time;
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jl"), 'completed', 'late-landing job completed');
# Which of the two right outcomes happened is the machine's timing: the job
# sent again (two uploads: the late file must then be deleted as a duplicate)
# or, when a loaded machine's first listing came after the landing, the late
# file adopted (one upload, nothing to delete). Each is checked for what it
# implies; the files left are checked below for both.
# (the stalled request is logged when its answer goes out, 9 s after it came)
my $wait = $t_late + 10 - time;
sleep($wait) if $wait > 0;
my $sends = grep {
	$_->{route} eq 'POST /v1/files'
	  && grep { ($_->{filename} // '') =~ /-${jl}-[0-9a-f]{32}_late\.txt$/ } @{ $_->{multipart} // [] }
} @{ $emu->requests };
note("late.txt was sent $sends time(s)");
if ($sends >= 2)
{
	ok($node->poll_query_until('postgres',
		"SELECT duplicates_deleted > $dups FROM vectorstore.worker_state"), 'sent again: the late duplicate was deleted');
}
else
{
	is($sends, 1, 'sent once: the late landing was adopted');
}
my @late = grep { $_->{filename} =~ /-${jl}-[0-9a-f]{32}_late\.txt$/ }
  @{ $emu->control('GET', '/v1/files?limit=10000')->{data} };
is(scalar @late, 1, 'one file left for the job');
is($late[0]{id}, sq("SELECT file_id FROM vectorstore.job WHERE id = $jl"), 'and it is the job\'s file');
is(files_on_server(), $n1 + $n2 + 1, 'files on the server = jobs');
sq("ALTER SYSTEM RESET vectorstore.worker_reconcile_delay; SELECT pg_reload_conf();");

# --- memory stays flat: the loop context is reset each pass. Measured on one
# worker (kept alive between bursts by a long naptime): its RSS after a first
# burst of 2,000 jobs and after a second one, every fifth upload slowed down
$emu->fault({ kind => 'stall', rate => 0.2, stall_ms => 300, route => '/files', method => 'POST' });
sq("ALTER SYSTEM SET vectorstore.worker_naptime = '60s'");
sq("SELECT pg_reload_conf()");
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'm' || g || '.txt', repeat('x', 1000)) FROM generate_series(1, 2000) g");
wait_idle();
my $pid = worker_pid();
# private memory (RssAnon): RSS also counts the shared buffers the worker
# touches, which grow with the table
sub rss_anon { my ($p) = @_; my $st = slurp_file("/proc/$p/status"); return $st =~ /^RssAnon:\s*(\d+)/m ? $1 : ''; }
my $rss1 = rss_anon($pid);
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'n' || g || '.txt', repeat('y', 1000)) FROM generate_series(1, 2000) g");
wait_idle();
my $rss2 = rss_anon($pid);
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'o' || g || '.txt', repeat('z', 1000)) FROM generate_series(1, 2000) g");
wait_idle();
my $rss3 = rss_anon($pid);
is(worker_pid(), $pid, 'the same worker did all three bursts');
$emu->clear_faults;
sq("ALTER SYSTEM RESET vectorstore.worker_naptime");
sq("SELECT pg_reload_conf()");
note("worker RssAnon after the first 2,000 jobs $rss1 kB, after the second $rss2 kB, after the third $rss3 kB");
# the allocator keeps what a busy pass needed (a warm-up of a few MB that it
# does not give back); a leak grows with every burst
ok($rss3 ne '' && $rss3 - $rss1 < 20000, 'worker memory stays flat (private memory grows < 20 MB over 4,000 more jobs)');
ok($rss3 ne '' && $rss3 - $rss2 < 4096, 'and does not keep growing (< 4 MB over the third burst)');

$node->stop;
$emu->stop;
done_testing();
