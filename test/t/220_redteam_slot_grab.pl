# Red team round eleven: the worker leaves when its database has nothing due
# (vs_worker_leave) and the launcher starts one again, a dynamic background
# worker, when an enqueue's COMMIT wakes it. Those slots (max_worker_processes,
# 16 as the README says) are shared with parallel query, and an ordinary role
# may SET max_parallel_workers, max_parallel_workers_per_gather and the
# parallel costs (all PGC_USERSET). Mallory, with only the README's grants
# (she creates nothing), holds 5 sessions each running a parallel scan of
# pg_depend whose filter calls pg_sleep (parallel safe): the workers take
# every free slot and keep them. Bob then queues an upload: the launcher says
# "could not start a worker" and nothing is sent, for any role
# of any database, as long as mallory keeps her queries running (here
# statement_timeout 40 s; she may run them again for ever). While the worker
# cannot start, an enqueue also records no identity (see 219).
# Found: 14 parallel workers of mallory (every free slot); after 20.2 s bob's
# job still 'queued', no vectorstore worker running; the launcher logged
# "could not start a worker for database 5" (HINT: Raise max_worker_processes)
# once, then nothing while it waited.
# What should have happened: one role's queries do not stop every role's
# queued work; bob's upload completes within 20 s.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('slotgrab', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE mallory LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO mallory, bob;
});
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'bob')");

# bob's first upload: the worker runs, then leaves once idle
my $first = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b1.txt', 'bob one')");
$node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $first")
  or die 'first job not completed';
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'")
  or die 'worker did not leave';

# mallory takes the background worker slots
my @h;
for my $i (1 .. 5)
{
	my ($in, $out, $err) = ('', '', '');
	push @h, IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-U', 'mallory', '-c',
		"SET max_parallel_workers_per_gather = 1024; SET max_parallel_workers = 1024;
		 SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
		 SET parallel_leader_participation = off; SET statement_timeout = '40s';
		 SELECT count(*) FROM pg_catalog.pg_depend WHERE pg_catalog.pg_sleep(0.02) IS NOT NULL" ],
		\$in, \$out, \$err);
}
my $t1 = time;
while (time - $t1 < 10)
{
	last if sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'") >= 14;
	usleep(100_000);
}
diag('parallel workers of mallory: ' . sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'"));

my $t0 = time;
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b2.txt', 'bob two')");
my $done = 0;
while (time - $t0 < 20)
{
	$done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $bob") eq 't';
	last if $done;
	usleep(200_000);
}
diag(sprintf("after %.1f s: bob's job %s; vectorstore workers: %s; worker_state rows: %s", time - $t0,
	sq("SELECT status FROM vectorstore.job WHERE id = $bob"),
	sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"),
	sq("SELECT count(*) FROM vectorstore.worker_state")));
TODO:
{
	# Open, not mended (doc/threat-model.md, round eleven): the worker gives
	# its slot back when idle, and parallel query may take every slot. This
	# stays a TODO test, reported as such by prove, until it is mended.
	local $TODO = 'open: an idle worker\'s background worker slot can be taken by parallel query';
	ok($done, "bob's upload completes within 20 s while mallory runs parallel queries");
}

sq("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mallory'");
$_->finish for @h;
$node->stop('immediate');
$emu->stop;
done_testing();
