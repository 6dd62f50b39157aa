# Red team (rt1): what a role leaves in a 0.1.0 database, which the update to
# 0.2.0 and the new worker then trust. 0.1.0 granted every role INSERT and
# UPDATE on sync_row (row level security checks only that the sync is the
# role's, not whose job job_id names) and UPDATE of its jobs' attempts.
#   1  mallory points a row of her own sync at victim's job; after the
#      update, her vs_sync_run queues a 'delete' of that row, and the worker
#      detaches and deletes victim's file from victim's store.
#   2  mallory sets one of her jobs' attempts to -1; the update's new
#      CHECK (attempts >= 0) then stops ALTER EXTENSION for everyone.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('rt_upgrade', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { my ($sql) = @_; return $node->safe_psql('up', $sql); }
sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('up', $sql, extra_params => [ '-U', $role ]);
	die "as $role: $err" if $ret != 0;
	return $out;
}

$node->safe_psql('postgres', 'CREATE DATABASE up; CREATE ROLE victim LOGIN; CREATE ROLE mallory LOGIN');
sq(q{
	CREATE EXTENSION vectorstore VERSION '0.1.0';
	GRANT USAGE ON SCHEMA vectorstore TO victim, mallory;
	GRANT CREATE ON SCHEMA public TO victim, mallory;
});

# victim queues a file at 0.1.0 (job 1)
my $vvs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'victim')");
my $vjob = as('victim', "SELECT vectorstore.vs_enqueue_upload('$vvs', 'secret.txt', 'victim document about refunds')");

# mallory, with only what 0.1.0 gave every role
my $mvs = as('mallory', "SELECT id FROM vectorstore.vs_store_create(name => 'mallory')");
as('mallory', qq{
	CREATE TABLE m (k text PRIMARY KEY, body text);
	SELECT vectorstore.vs_sync_create('evil', 'm', '$mvs', 'k', 'body');
	INSERT INTO vectorstore.sync_row VALUES ('evil', 'gone', 'x', $vjob);
});
my $mjob = as('mallory', "SELECT vectorstore.vs_enqueue_upload('$mvs', 'a.txt', 'mallory')");
as('mallory', "UPDATE vectorstore.job SET attempts = -1 WHERE id = $mjob");

# --- 2: the superuser's update
my ($ret, $out, $err) = $node->psql('up', 'ALTER EXTENSION vectorstore UPDATE');
is($ret, 0, '2: a role\'s 0.1.0 job row (attempts -1) does not stop ALTER EXTENSION UPDATE')
  or diag($err);
if ($ret != 0)
{
	# carry on as the superuser would, to reach attack 1
	sq('UPDATE vectorstore.job SET attempts = 0 WHERE attempts < 0');
	sq('ALTER EXTENSION vectorstore UPDATE');
}
VsWorkerTest::wait_idle($node, 'up');
is(sq("SELECT status FROM vectorstore.job WHERE id = $vjob"), 'completed', 'victim\'s job completed after the update');
my $vfile = sq("SELECT file_id FROM vectorstore.job WHERE id = $vjob");
like($vfile, qr/^file-/, 'victim\'s file uploaded');

# --- 1: mallory runs her sync: row 'gone' is not in her table
as('mallory', "SELECT * FROM vectorstore.vs_sync_run('evil')");
VsWorkerTest::wait_idle($node, 'up');
is(as('victim', "SELECT count(*) FROM vectorstore.vs_store_files('$vvs') WHERE id = '$vfile'"), '1',
	'1: victim\'s file is still in victim\'s store after mallory\'s sync run');
is(as('victim', "SELECT count(*) FROM vectorstore.vs_files() WHERE id = '$vfile'"), '1',
	'1: ... and still in the Files API');
is(sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND replaces_job = $vjob"
	  . " AND status = 'completed'"), '0',
	'1: no job of mallory\'s completed a removal of victim\'s job');

# the update dropped mallory's forged row (49_queue_data.sql) ...
is(sq("SELECT count(*) FROM vectorstore.sync_row WHERE sync_name = 'evil'"), '0',
	'1: the update dropped the sync row that pointed at another owner\'s job');
is(sq("SELECT attempts FROM vectorstore.job WHERE id = $mjob"), '0', '2: attempts brought into range by the update');

# ... and, whatever a leftover row says, a removal follows only jobs of its
# own owner (_job_claim_removals): a 'delete' of mallory's that names
# victim's job, as a row left from 0.1.0 would, removes nothing of victim's
sq("SELECT vectorstore.vs_worker_pause()");
my $forged = sq("INSERT INTO vectorstore.job (kind, vector_store_id, owner, sync_name, row_key, replaces_job, status)
                 VALUES ('delete', '$mvs', 'mallory', 'evil', 'forged', $vjob, 'deleting') RETURNING id");
my $del0 = $emu->count('DELETE /v1/files/{file_id}');
sq("SELECT vectorstore.vs_worker_resume()");
ok($node->poll_query_until('up', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $forged"),
	'the leftover delete job finished');
is($emu->count('DELETE /v1/files/{file_id}') - $del0, 0, 'it deleted no file');
is(as('victim', "SELECT count(*) FROM vectorstore.vs_store_files('$vvs') WHERE id = '$vfile'"), '1',
	'victim\'s file is still in victim\'s store');

$node->stop;
$emu->stop;
done_testing();
