# A restore's window. pg_restore loads a database's tables one by one (or
# several at once, with -j): the COPY of vectorstore.job commits, and wakes
# the worker, before the COPY of worker_state has brought the rows that say
# whose the jobs are. A worker acting in that window would take a copy's
# queue for its own and send it (round twelve's restore race). Each job is
# tagged with the identity row of the database it was queued in
# (job.origin); a database holding jobs of another row sends nothing: the
# worker waits and looks again, worker_status says why, and every claim
# checks it last, in its own transaction (_worker_claim_guard), so a claim
# racing a restore's COPY rolls back.
#
# The restore is played here row by row, as its COPY statements would load
# them, so that the window is held open as long as the test needs:
#   1. a job carrying another row's origin is loaded: nothing is sent;
#   2. a claim made meanwhile raises, and claims nothing;
#   3. the dumped identity row arrives, older and of this database's
#      identity (a dump restored into the database it came from): the jobs
#      are this database's, and are sent.
# (Restores into another cluster and database: 054, 055.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('restorewindow', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub posts { return scalar grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/files' } @{ $emu->requests }; }

sq('CREATE EXTENSION vectorstore');
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'window')");
my $own = sq('SELECT nonce FROM vectorstore.worker_state');
my ($sysid, $dboid) = split /\|/, sq('SELECT * FROM vectorstore._worker_identity()');
my $j = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'mine.txt', 'mine')");
is(sq("SELECT origin FROM vectorstore.job WHERE id = $j"), $own, 'a job queued here carries this database\'s identity row');
VsWorkerTest::wait_idle($node, 'postgres', 'the first job');
$emu->clear_requests;

# 1. the COPY of job: a job of the dumped database's row (the dump is of
# this very database, taken when its row had another nonce)
my $dumped = 'f00d' x 8;
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, origin)
    VALUES ('$vs', 'restored.txt', 'restored', 'postgres', '$dumped')");
my $status = '';
for (1 .. 30)
{
	$status = sq("SELECT paused::text || ' ' || paused_reason FROM vectorstore.worker_status");
	last if $status =~ /^true /;
	usleep(100_000);
}
like($status, qr/^true holds jobs queued in another database/, 'worker_status: held, and why');
sleep 3;
is(posts(), 0, 'nothing is sent while the database holds another\'s jobs');
is(sq("SELECT status FROM vectorstore.job WHERE filename = 'restored.txt'"), 'queued', 'the restored job waits');

# 2. a claim made in the window: the guard, its last statement, raises and
# the claim rolls back (here: the attach step's claim of a job whose
# attach was cut off, which would push its lease an hour on)
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, origin, status, file_id)
    VALUES ('$vs', 'stranded.txt', 's', 'postgres', '$dumped', 'attaching', 'file-s')");
my $nb = sq("SELECT not_before FROM vectorstore.job WHERE filename = 'stranded.txt'");
my ($rc, $out, $err) = $node->psql('postgres', "SELECT count(*) FROM vectorstore._job_claim_attaches(
	'{}', 3600000, 10, '{}', '{}', NULL, NULL, '{}', '{}', '{}')");
like($err, qr/ERROR:  vectorstore worker: nothing claimed: this database is a holds jobs queued in another database/,
	'a claim in the window raises');
is(sq("SELECT not_before FROM vectorstore.job WHERE filename = 'stranded.txt'"), $nb,
	'and claims nothing (the job\'s lease is not taken)');
sq("DELETE FROM vectorstore.job WHERE filename = 'stranded.txt'");

# 3. the COPY of worker_state: the dumped row, older, of this identity: the
# database's own (the oldest of its identity); the worker, looking again,
# sends the job, and keeps that row alone
sq("INSERT INTO vectorstore.worker_state (nonce, system_identifier, database_oid, made_at, token)
    VALUES ('$dumped', '$sysid', $dboid, now() - interval '1 day', vectorstore._worker_token('$sysid', $dboid, '$dumped'))");
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE filename = 'restored.txt'"),
	'the dumped row brought, the job is this database\'s and is sent');
is(posts(), 1, 'once');
is(sq("SELECT string_agg(nonce, ',') FROM vectorstore.worker_state"), $dumped, 'the worker keeps the older row of its identity');
is(sq("SELECT paused::text || ' ' || coalesce(paused_reason, '-') FROM vectorstore.worker_status"), 'false -',
	'worker_status: running');
unlike(slurp_file($node->logfile), qr/is a copy/, 'nothing took the database for a copy');

$node->stop;
$emu->stop;
done_testing();
