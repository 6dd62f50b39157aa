# Operating the worker (issue 15, the queue's half): pause and resume, also
# across a restart; a copy of a database (CREATE DATABASE ... TEMPLATE, a
# dump restored) starts paused and sends nothing, and once resumed is a
# database of its own (another marker token); a worker only while there is
# work; retention purges what finished jobs no longer need, keeping what
# syncs refer to.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $proxy = VsWorkerTest::Proxy->start($emu);
my $node = VsTest::new_node('ops', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'postgres', $sql); }
sub wait_idle { VsWorkerTest::wait_idle($node, @_); }
sub workers
{
	my ($db) = @_;
	return sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"
		  . ($db ? " AND datname = '$db'" : ''));
}

sq("CREATE EXTENSION vectorstore; CREATE ROLE alice LOGIN; GRANT USAGE ON SCHEMA vectorstore TO alice;");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'ops')");

# --- a worker only while there is work
sq("CREATE DATABASE quiet");
sq("CREATE EXTENSION vectorstore", 'quiet');
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'w' || g || '.txt', 'work ' || g) FROM generate_series(1, 5) g");
wait_idle();
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"),
	'with nothing due, no database holds a worker (the one with the extension and nothing queued neither)');
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'again.txt', 'again')", 'quiet');
VsWorkerTest::wait_idle($node, 'quiet');
is(sq("SELECT count(*) FROM vectorstore.job WHERE status = 'completed'", 'quiet'), '1', 'a COMMIT that queues work brings one');

# --- pause and resume, across a restart
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT vectorstore.vs_worker_pause()', extra_params => [ '-U', 'alice' ]);
like($err, qr/permission denied/, 'only a superuser may pause the worker');
is(sq("SELECT vectorstore.vs_worker_pause()"), 'f', 'paused (it was not)');
my $up0 = $emu->count('POST /v1/files');
my $jp = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'paused.txt', 'while paused')");
sleep 2;
is(workers('postgres'), '0', 'a paused database gets no worker, even after a COMMIT that queues work');
is(sq("SELECT paused || ' ' || (paused_reason ~ 'vs_worker_pause') FROM vectorstore.worker_status"), 'true true',
	'worker_status says it is paused, and why');
$node->restart;
sleep 2;
is(sq("SELECT status FROM vectorstore.job WHERE id = $jp"), 'queued', 'after a restart the job is still queued');
is($emu->count('POST /v1/files') - $up0, 0, 'nothing was sent while paused, across the restart');
is(sq("SELECT paused FROM vectorstore.worker_status"), 't', 'the pause survived the restart');
is(sq("SELECT vectorstore.vs_worker_resume()"), 't', 'resumed (it was paused)');
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jp"), 'completed', 'resumed, the job is sent');

# --- a TEMPLATE copy sends nothing (its queue, its sweep) until resumed
sq("CREATE DATABASE src");
sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('lost', 'sk-lost', '" . $proxy->url('lost') . "');
    ALTER SYSTEM SET vectorstore.worker_reconcile_delay = '1h'; SELECT pg_reload_conf();", 'src');
# an upload whose answer was lost waits an hour for its sweep: the worker
# leaves (nothing due), and the database can be copied
my $jl = sq("SET vectorstore.credential = 'lost'; SELECT vectorstore.vs_enqueue_upload('$vs', 'lost.txt', 'answer lost')", 'src');
$node->poll_query_until('src', "SELECT status = 'uploading' AND last_error IS NOT NULL FROM vectorstore.job WHERE id = $jl") or die;
my $srctoken = sq("SELECT token FROM vectorstore.worker_state", 'src');
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'src'") or die;
$emu->clear_requests;
sq("CREATE DATABASE copy TEMPLATE src");
sq("UPDATE vectorstore.job SET not_before = now() WHERE id = $jl;
    SELECT vectorstore.vs_enqueue_upload('$vs', 'queued-in-copy.txt', 'queued in the copy')", 'copy');
ok($node->poll_query_until('copy', "SELECT paused AND paused_reason ~ '^copy of database' FROM vectorstore.worker_status"),
	'the copy\'s worker found it is a copy and paused');
# a restored copy carries the original's pid in worker_state: it is not shown
# as the copy's worker (here: a live process of no database, the launcher)
my $alien = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore launcher'");
sq("UPDATE vectorstore.worker_state SET pid = $alien", 'copy');
is(sq("SELECT pid IS NULL FROM vectorstore.worker_status", 'copy'), 't',
	'worker_status shows no pid carried from elsewhere, only this database\'s worker');
# (worker_status shows a copy paused before its worker starts: the log is
# waited for)
my $said = 0;
for (1 .. 100)
{
	$said = slurp_file($node->logfile) =~ /database "copy" is a copy \(restored or made from a template\): its worker is paused/;
	last if $said;
	usleep(100_000);
}
ok($said, 'and its worker said so in the log');
sleep 2;
is(scalar(@{ $emu->requests }), 0, 'the copy sent nothing: no upload of its queue, no sweep of the lost upload');
is(sq("SELECT string_agg(status, ',' ORDER BY id) FROM vectorstore.job", 'copy'), 'uploading,queued',
	'its queue is as it was copied');
is(sq("SELECT vectorstore.vs_worker_resume()", 'copy'), 't', 'a superuser resumes the copy');
isnt(sq("SELECT token FROM vectorstore.worker_state", 'copy'), $srctoken, 'the copy is a database of its own: another marker token');
$node->poll_query_until('copy', "SELECT status = 'completed' FROM vectorstore.job WHERE filename = 'queued-in-copy.txt'")
  or die 'the copy did not send its queue';
pass('resumed, the copy sends its own queue');
# the copy's sweep found no file of the lost upload under its own token (the
# original's carries the original's), so it sent the job again, under its token
my $copytoken = sq("SELECT token FROM vectorstore.worker_state", 'copy');
my $again = 0;
for (1 .. 300)
{
	$again = grep { $_->{filename} =~ /^vsjob-$copytoken-$jl-/ } @{ $emu->control('GET', '/v1/files?limit=10000')->{data} };
	last if $again;
	usleep(100_000);
}
ok($again, 'the copy uploaded its copy of the job again, under its own token');
my @orig = grep { $_->{filename} =~ /^vsjob-$srctoken-$jl-/ } @{ $emu->control('GET', '/v1/files?limit=10000')->{data} };
is(scalar @orig, 1, 'the original\'s lost upload is still on the server: the copy neither adopted nor deleted it');
sq("UPDATE vectorstore.job SET not_before = now() WHERE id = $jl", 'src');
VsWorkerTest::wait_idle($node, 'src');
is(sq("SELECT status || ' ' || file_id FROM vectorstore.job WHERE id = $jl", 'src'), "completed $orig[0]{id}",
	'the original adopts its own file');
sq("ALTER SYSTEM SET vectorstore.worker_reconcile_delay = '2s'; SELECT pg_reload_conf();");

# --- dump and restore (here into another database of this cluster)
sq("CREATE TABLE public.notes (id int PRIMARY KEY, body text, at timestamptz DEFAULT '2024-05-01');
    INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 12) g;
    SELECT vectorstore.vs_sync_create('notes', 'public.notes', '$vs', 'id', 'body', attribute_columns => ARRAY['at']);
    SELECT vectorstore.vs_sync_run('notes');");
wait_idle();
my $counts = "SELECT (SELECT count(*) FROM vectorstore.job) || '/' || (SELECT count(*) FROM vectorstore.sync)
              || '/' || (SELECT count(*) FROM vectorstore.sync_row)";
my $before = sq($counts);
my $dump = $node->basedir . '/ops.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
sq("CREATE DATABASE restored");
# The restore's CREATE EXTENSION makes the restored database's identity row,
# and its COPY adds the origin's beside it (rows are keyed by their nonce):
# nothing a worker woken meanwhile does can make the COPY fail (round
# twelve's race, when the table had one row by a constant key)
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is(sq("SELECT string_agg(CASE WHEN database_oid = (SELECT oid FROM pg_database WHERE datname = current_database())
                               THEN 'own' ELSE 'origin' END, ',' ORDER BY made_at) FROM vectorstore.worker_state", 'restored'),
	'origin,own', 'the restored database holds the origin\'s identity row and its own');
is(sq($counts, 'restored'), $before, 'jobs, syncs and sync rows survive a dump and restore');
is(sq("SELECT owner || ' ' || source FROM vectorstore.sync", 'restored'), 'postgres public.notes',
	'the sync names its owner and source by name');
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'after-restore.txt', 'x')", 'restored');
my $paused = '';
for (1 .. 100)
{
	$paused = sq("SELECT paused AND paused_reason ~ '^copy of database' FROM vectorstore.worker_status", 'restored');
	last if $paused eq 't';
	usleep(200_000);
}
is($paused, 't', 'the restored database starts paused');
is(sq("SELECT * FROM vectorstore.vs_sync_run('notes')", 'restored'), '0|0|0|12',
	'a sync run in the restored database finds every row unchanged (nothing uploaded again)');
sq("SELECT vectorstore.vs_worker_resume()", 'restored');
is(sq("SELECT count(*) FROM vectorstore.worker_state WHERE database_oid <> (SELECT oid FROM pg_database WHERE datname = current_database())", 'restored'),
	'0', 'resumed, it is a database of its own: the origin\'s row is gone');
VsWorkerTest::wait_idle($node, 'restored');
is(sq("SELECT status FROM vectorstore.job WHERE filename = 'after-restore.txt'", 'restored'), 'completed',
	'resumed, it drains its queue');

# --- retention: content first, then rows nothing refers to
sq("UPDATE public.notes SET body = 'changed note 1' WHERE id = 1; SELECT vectorstore.vs_sync_run('notes');");
wait_idle();
sq("ALTER SYSTEM SET vectorstore.job_retention = '1s'; SELECT pg_reload_conf();");
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'purge-me.txt', 'soon gone')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM vectorstore.job WHERE sync_name IS NULL"),
	'finished jobs no sync refers to are purged');
is(sq("SELECT count(*) || '/' || count(content) FROM vectorstore.job WHERE sync_name = 'notes'"), '12/0',
	'the jobs the sync\'s rows map to stay (12), without their content');
ok(sq("SELECT jobs_purged > 0 FROM vectorstore.worker_status") eq 't', 'worker_status counts the purged jobs');
sq("UPDATE public.notes SET body = 'changed again' WHERE id = 2");
is(sq("SELECT * FROM vectorstore.vs_sync_run('notes')"), '0|1|0|11', 'a sync after the purge sees one change');
wait_idle();
is(sq("SELECT count(DISTINCT file_id) FROM vectorstore.sync_rows WHERE sync_name = 'notes'"), '12',
	'each row still has its file');
is($emu->control('GET', "/v1/vector_stores/$vs")->{file_counts}{completed} + 0 > 0 ? 'ok' : 'none', 'ok',
	'the store serves the rows');
my %live = map { $_->{id} => 1 } @{ $emu->control('GET', '/v1/files?limit=10000')->{data} };
is(sq("SELECT count(*) FROM vectorstore.sync_rows WHERE sync_name = 'notes'
       AND file_id = ANY ('{" . join(',', keys %live) . "}')"), '12', 'no row\'s file was deleted by the purge');

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no crash in the log');
$proxy->stop;
$emu->stop;
done_testing();
