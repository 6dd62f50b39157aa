# Red team round eleven: since round ten's mend (214), where the library is
# preloaded vs_enqueue_upload no longer records the database's identity
# (worker_state) in the caller's transaction: the worker the commit wakes is
# to record it at its start. But that worker may not start: here every
# background-worker slot is taken (max_worker_processes = 2: the launcher
# and the logical replication launcher; in production parallel query
# workers or other extensions take them, and the launcher only logs "could
# not start a worker"). A role queues an upload; the database is dumped
# while no worker has run there -- and the dump has no identity row. Restored
# into a second cluster (for staging, say), where workers start, the
# restored worker takes the second cluster's identity as its own, is not
# paused as a copy, and sends production's queued job. doc/threat-model.md
# ("Dump and restore", the "cold" database) says such a database is
# recognised as a copy and its queue is not sent.
# Found: source: 0 worker_state rows, 0 workers (launcher logs "could not
# start a worker for database 16385" every second), job queued; restored:
# worker_status paused = false, 1 POST /v1/files to the emulator, job
# 'failed' (it was sent; the emulator wanted a key).
# What should have happened: the restored database is paused as a copy (as
# 055's "cold" database, whose library was not preloaded), its job queued.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $dir = tempdir(CLEANUP => 1);

my $src = VsTest::new_node('busysrc', $emu, conf => [ VsWorkerTest::conf(), 'max_worker_processes = 2' ]);
$src->start;
$src->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE DATABASE app');
$src->safe_psql('app', "CREATE EXTENSION vectorstore; GRANT USAGE ON SCHEMA vectorstore TO alice;
	GRANT USAGE ON FOREIGN SERVER vectorstore TO alice;");
$src->safe_psql('app', "SELECT vectorstore.vs_enqueue_upload('vs_prod', 'prod.txt', 'production data')",
	extra_params => [ '-U', 'alice' ]);
sleep 3;
diag('source: worker_state rows: ' . $src->safe_psql('app', 'SELECT count(*) FROM vectorstore.worker_state')
	. '; vectorstore workers: ' . $src->safe_psql('app', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'")
	. '; job: ' . $src->safe_psql('app', 'SELECT status FROM vectorstore.job'));
my $dump = "$dir/app.dump";
$src->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $src->connstr('app') ], 'pg_dump of the source');
$src->stop('immediate');

my $dst = VsTest::new_node('busydst', $emu, conf => [ VsWorkerTest::conf() ]);
$dst->start;
$dst->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE DATABASE app');
$emu->clear_requests;
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('app'), $dump ], 'pg_restore into the second cluster');
$dst->restart;

# wait up to 15 s for the restored worker to say what it thinks
my $t0 = time;
my $state = '';
while (time - $t0 < 15)
{
	$state = $dst->safe_psql('app', "SELECT coalesce(w.paused::text, '-') || ' ' || (SELECT status FROM vectorstore.job)
		FROM vectorstore.worker_status w");
	last if $state =~ /^true / || $state !~ / queued$/;
	usleep(200_000);
}
sleep 2;
my $posts = scalar grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/files' } @{ $emu->requests };
my $status = $dst->safe_psql('app', 'SELECT status FROM vectorstore.job');
my $paused = $dst->safe_psql('app', "SELECT coalesce(paused::text, '-') || ' ' || coalesce(paused_reason, '') FROM vectorstore.worker_status");
diag("restored: worker_status: $paused; job: $status; POST /v1/files: $posts");
is($posts, 0, 'the restored copy sends none of the source\'s queued uploads');
is($status, 'queued', 'the source\'s job stays queued in the copy');
like($paused, qr/^true copy of database/, 'the restored database is paused as a copy');

$dst->stop('immediate');
$emu->stop;
done_testing();
