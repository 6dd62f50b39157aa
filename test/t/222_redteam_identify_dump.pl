# Red team round twelve: since round eleven (219), every vs_enqueue_upload
# records the database's identity (worker_state) through _worker_identify,
# waiting at most 100 ms on a row another transaction is making and then
# going on without it. A role (mallory) that queues one upload in a
# transaction it leaves open holds that uncommitted row: every other role's
# enqueue now skips the insert and commits its job, and the database still
# has no identity row. A dump taken meanwhile (pg_dump does not wait for
# mallory) has the victim's queued job but no identity. Restored into a
# second cluster (for staging, say), the restored worker makes a row with
# the second cluster's identity, is not paused as a copy, and sends the
# source's queued job. (The source here has no free worker slot, as in 219,
# so that the job is still queued when dumped; the worker, had it run,
# would not have recorded the row either: _worker_start gives up on it
# after 100 ms too.)
# Found: source: 0 committed worker_state rows after the victim's enqueue;
# restored: worker_status paused = false, 1 POST /v1/files to the emulator.
# What should have happened: the restored database is paused as a copy,
# its job still queued (e.g. the identity row made at CREATE EXTENSION, so
# no role's transaction can hold it uncommitted).
# Mended (round thirteen's work): the identity row is made by CREATE
# EXTENSION, and no role's call writes it; a dump carries it from the start.
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

my $src = VsTest::new_node('iddumpsrc', $emu, conf => [ VsWorkerTest::conf(), 'max_worker_processes = 2' ]);
$src->start;
$src->safe_psql('postgres', 'CREATE ROLE mallory LOGIN; CREATE ROLE victim LOGIN; CREATE DATABASE app');
$src->safe_psql('app', "CREATE EXTENSION vectorstore;
	GRANT USAGE ON SCHEMA vectorstore TO mallory, victim;
	GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory, victim;");

# mallory: one enqueue in a transaction left open (the row, uncommitted)
my $bg = $src->background_psql('app', extra_params => [ '-U', 'mallory' ], timeout => 120);
$bg->query_safe("BEGIN");
$bg->query_safe("SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'm')");

# the victim's upload, committed while mallory's transaction is open
my $t0 = time;
$src->safe_psql('app', "SELECT vectorstore.vs_enqueue_upload('vs_prod', 'prod.txt', 'production data')",
	extra_params => [ '-U', 'victim' ]);
diag(sprintf("victim's enqueue returned after %.2f s", time - $t0));
my $rows = $src->safe_psql('app', 'SELECT count(*) FROM vectorstore.worker_state');
diag("source: committed worker_state rows: $rows; job: " . $src->safe_psql('app', 'SELECT status FROM vectorstore.job'));

my $dump = "$dir/app.dump";
$src->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $src->connstr('app') ], 'pg_dump of the source');
$bg->query_safe("ROLLBACK");
$bg->quit;
$src->stop('immediate');

my $dst = VsTest::new_node('iddumpdst', $emu, conf => [ VsWorkerTest::conf() ]);
$dst->start;
$dst->safe_psql('postgres', 'CREATE ROLE mallory LOGIN; CREATE ROLE victim LOGIN; CREATE DATABASE app');
$emu->clear_requests;
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('app'), $dump ], 'pg_restore into the second cluster');
$dst->restart;

$t0 = time;
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
is($rows, '1', "the victim's committed enqueue left the database's identity recorded");
is($posts, 0, "the restored copy sends none of the source's queued uploads");
is($status, 'queued', "the source's job stays queued in the copy");
like($paused, qr/^true copy of database/, 'the restored database is paused as a copy');

$dst->stop('immediate');
$emu->stop;
done_testing();
