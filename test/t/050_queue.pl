# The upload queue and its worker: transactional enqueue, batch attach with
# per-file attributes, roles kept apart, 429 and failing credentials,
# cancel/retry, monitoring views, SIGHUP, DROP/CREATE EXTENSION and
# DROP DATABASE with a worker connected.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => 'sk-good');
my $node = VsTest::new_node('queue', $emu, conf => [
	"vectorstore.api_key = 'sk-good'",
	"vectorstore.worker_reconcile_delay = '2s'",
	"vectorstore.timeout = '3s'",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '1s'",
	"vectorstore.worker_poll_interval = '100ms'",
	"vectorstore.worker_max_attempts = 3",
]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub api { return scalar $emu->request('GET', $_[0], undef, Authorization => 'Bearer sk-good'); }
sub files_on_server
{
	my $r = api('/v1/files?limit=10000');
	return scalar @{ $r->{data} // [] };
}
sub store_counts
{
	my ($id) = @_;
	return api("/v1/vector_stores/$id")->{file_counts};
}
sub wait_idle
{
	my ($db) = @_;
	$node->poll_query_until($db // 'postgres',
		"SELECT count(*) = 0 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled')")
	  or die 'queue did not drain';
}

# Note: requests made as the superuser in SQL use the settings (sk-good).
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'q')");
like($vs, qr/^vs_/, 'store created');

# --- the launcher runs; a worker is there while there is work, named
is(sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectorstore launcher'"), '1',
	'launcher runs');
$emu->fault({ kind => 'stall', count => 1, stall_ms => 1500, route => '/files', method => 'POST' });
my $j0 = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'busy.txt', 'keeps the worker busy')");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' AND datname = 'postgres'")
  or die;
is(sq("SELECT application_name FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"),
	'vectorstore worker', 'worker shows in pg_stat_activity');
wait_idle();

# --- a rolled-back enqueue uploads nothing; committed ones are delivered
my $batches0 = $emu->count('POST /v1/vector_stores/{id}/file_batches');
sq("BEGIN; SELECT vectorstore.vs_enqueue_upload('$vs', 'rolledback.txt', 'never'); ROLLBACK;");
my ($j1, $j2) = split /\n/, sq("BEGIN;
SELECT vectorstore.vs_enqueue_upload('$vs', 'a.txt', 'alpha text', attributes => '{\"lang\":\"en\",\"n\":1}');
SELECT vectorstore.vs_enqueue_upload('$vs', 'b.bin', convert_to('beta bytes', 'UTF8'), chunking_strategy => '{\"type\":\"static\",\"static\":{\"max_chunk_size_tokens\":200,\"chunk_overlap_tokens\":50}}');
COMMIT;");
wait_idle();
is(sq("SELECT string_agg(status, ',' ORDER BY id) FROM vectorstore.job WHERE id IN ($j1, $j2)"), 'completed,completed',
	'both jobs completed');
is(files_on_server(), 3, 'exactly three files uploaded (the rolled-back one never was)');
is(store_counts($vs)->{completed}, 3, 'both attached (and the first job\'s file)');
is($emu->count('POST /v1/vector_stores/{id}/file_batches') - $batches0, 1,
	'the two files were attached with one file batch')
  or diag explain $emu->stats;
my $fid = sq("SELECT file_id FROM vectorstore.job WHERE id = $j1");
my $vsf = api("/v1/vector_stores/$vs/files/$fid");
is_deeply($vsf->{attributes}, { lang => 'en', n => 1 }, 'per-file attributes sent with the batch');
like(api("/v1/files/$fid")->{filename}, qr/^vsjob-[0-9a-f]{16}-${j1}-[0-9a-f]{32}_a\.txt$/,
	'uploaded filename carries the job marker (database token, job id, the job\'s secret)');

# --- monitoring views
is(sq("SELECT jobs FROM vectorstore.queue_depth WHERE status = 'completed'"), '3', 'queue_depth');
is(sq("SELECT jobs_done >= 2 AND heartbeat_at > now() - interval '1 minute' FROM vectorstore.worker_status"),
	't', 'worker_status heartbeat and counters');

my ($rc, $out, $err);
# --- request_options: checked at enqueue, sent with every request of the job
$emu->clear_requests;
my $jopt = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'opts.txt', 'with options',
	request_options => '{\"extra_headers\": {\"X-Trace\": \"t-42\"}, \"extra_query\": {\"trace\": \"q-42\"}}')");
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jopt"), 'completed', 'a job with request options completed');
my @withopt = grep { ($_->{headers}{'x-trace'} // '') eq 't-42' && ($_->{query} // '') =~ /trace=q-42/ } @{ $emu->requests };
ok((grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/files' } @withopt), 'its upload carried its extra header and query');
ok((grep { $_->{method} eq 'POST' && $_->{path} =~ m{/file_batches$} } @withopt), 'so did its file batch');
($rc, $out, $err) = $node->psql('postgres',
	"SELECT vectorstore.vs_enqueue_upload('$vs', 'x.txt', 'x', request_options => '{\"extra_headers\": {\"Authorization\": \"Bearer stolen\"}}')");
like($err, qr/cannot be set|not allowed|refused|22023/i, 'request options that would carry a credential are refused at enqueue');

# --- invalid arguments are refused at enqueue
($rc, $out, $err) = $node->psql('postgres',
	"SELECT vectorstore.vs_enqueue_upload('$vs', 'x.txt', 'x', attributes => '{\"a\":{\"nested\":1}}')");
isnt($rc, 0, 'nested attribute values refused at enqueue');

# --- roles: each sees only its own jobs, and cannot forge owner or credential
sq("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
   GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
   SELECT vectorstore.vs_credential_set('bad', 'sk-wrong', '" . $emu->url . "/v1');
   SELECT vectorstore.vs_credential_grant('bad', 'bob');");
my $ja = $node->safe_psql('postgres',
	"SET ROLE alice; SELECT vectorstore.vs_enqueue_upload('$vs', 'alice.txt', 'from alice')");
my $jb = $node->safe_psql('postgres',
	"SET ROLE bob; SELECT vectorstore.vs_enqueue_upload('$vs', 'bob.txt', 'from bob')");
is($node->safe_psql('postgres', "SET ROLE bob; SELECT count(*) FROM vectorstore.jobs WHERE id = $ja"),
	'0', 'bob cannot see alice\'s job');
is($node->safe_psql('postgres', "SET ROLE bob; SELECT count(*) FROM vectorstore.jobs WHERE id = $jb"),
	'1', 'bob sees his own job');
is($node->safe_psql('postgres', "SET ROLE bob; SELECT vectorstore.vs_job_cancel($ja)"),
	'f', 'bob cannot cancel alice\'s job');
is(sq("SELECT owner || ':' || coalesce(credential, '-') FROM vectorstore.job WHERE id = $jb"),
	'bob:bad', 'owner and credential recorded at enqueue');
($rc, $out, $err) = $node->psql('postgres',
	"SET ROLE alice; INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential, status, file_id)
	 VALUES ('$vs', 'forged.txt', 'x', 'bob', 'bad', 'completed', 'file-x')");
like($err, qr/permission denied/, 'a role cannot insert into the queue (only vs_enqueue_upload)');
($rc, $out, $err) = $node->psql('postgres',
	"SET ROLE alice; UPDATE vectorstore.job SET status = 'uploaded' WHERE id = $ja");
like($err, qr/permission denied/, 'a role cannot move its job to another status');

# --- a failing credential does not stall the others; it fails with its error
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $ja"), 'completed', 'alice\'s job completed');
is(sq("SELECT status || ':' || attempts FROM vectorstore.job WHERE id = $jb"), 'failed:1',
	'bob\'s job (bad key) failed at once: a 401 is permanent (the classifier), retrying cannot help');
like(sq("SELECT last_error FROM vectorstore.job WHERE id = $jb"), qr/401|API key/i,
	'the job records its error');
is(sq("SELECT count(*) FROM vectorstore.recent_failures WHERE id = $jb"), '1', 'recent_failures');

# --- a missing store fails its jobs (and its uploaded file is deleted) while
# another store's jobs complete
my ($jm, $jok) = split /\n/, sq("BEGIN;
	SELECT vectorstore.vs_enqueue_upload('vs_doesnotexist', 'lost.txt', 'no such store');
	SELECT vectorstore.vs_enqueue_upload('$vs', 'fine.txt', 'fine');
	COMMIT;");
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jok"), 'completed', 'the good store\'s job completed');
is(sq("SELECT status FROM vectorstore.job WHERE id = $jm"), 'failed', 'the missing store\'s job failed');
like(sq("SELECT last_error FROM vectorstore.job WHERE id = $jm"), qr/404|No vector store/i, 'with the API\'s error');
ok($node->poll_query_until('postgres', "SELECT file_id IS NULL FROM vectorstore.job WHERE id = $jm"),
	'the failed job\'s file was deleted');
is(scalar(grep { $_->{filename} =~ /lost\.txt$/ } @{ api('/v1/files?limit=10000')->{data} }), 0,
	'no orphan file left on the server');

# --- vs_job_retry: fix the credential and retry
sq("SELECT vectorstore.vs_credential_set('bad', 'sk-good', '" . $emu->url . "/v1')");
is($node->safe_psql('postgres', "SET ROLE bob; SELECT vectorstore.vs_job_retry($jb)"), 't', 'retry');
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jb"), 'completed', 'retried job completed');

# --- 429: waits for Retry-After, not counted as an attempt
$emu->fault({ kind => '429', count => 3, route => '/files', method => 'POST', retry_after => '1' });
my $j429 = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'rate.txt', 'rate limited')");
wait_idle();
is(sq("SELECT status || ':' || attempts FROM vectorstore.job WHERE id = $j429"), 'completed:0',
	'429s are waited out and not counted as attempts');

# --- cancel: a queued job is never uploaded
sq("ALTER SYSTEM SET vectorstore.worker_naptime = '1h'; SELECT pg_reload_conf();");
my $before = files_on_server();
$emu->fault({ kind => '503', count => 1000, route => '/files', method => 'POST' });
my $jc = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'cancel.txt', 'cancel me')");
sq("SELECT vectorstore.vs_job_cancel($jc)");
$emu->clear_faults;
sleep 3;
wait_idle();
is(sq("SELECT status FROM vectorstore.job WHERE id = $jc"), 'cancelled', 'cancelled');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM vectorstore.job WHERE file_id IS NOT NULL AND status = 'cancelled'");
is(files_on_server(), $before, 'a cancelled job leaves no file behind');

# --- a database with nothing to do holds no worker (once idle for a
# naptime); a COMMIT brings one
sq("ALTER SYSTEM SET vectorstore.worker_naptime = '1s'; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"),
	'with nothing due the worker leaves (no slot held)');
is(sq("SELECT pid IS NULL FROM vectorstore.worker_status"), 't', 'worker_status shows no worker');
sq("ALTER SYSTEM SET vectorstore.worker_naptime = '1h'; SELECT pg_reload_conf();");
# --- SIGHUP: the worker reloads and keeps working (a stalled upload keeps it busy)
$emu->fault({ kind => 'stall', count => 1, stall_ms => 2000, route => '/files', method => 'POST' });
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'many-' || g || '.txt', 'file ' || g) FROM generate_series(1, 20) g");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'") or die;
my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'");
sq("ALTER SYSTEM SET vectorstore.worker_concurrency = 2; SELECT pg_reload_conf();");
is(sq("SELECT count(*) FROM pg_stat_activity WHERE pid = $pid"), '1', 'the busy worker went on after SIGHUP');
$node->poll_query_until('postgres',
	"SELECT count(*) = 20 FROM vectorstore.job WHERE filename LIKE 'many-%' AND status = 'completed'") or die;
is(sq("SELECT count(*) FROM vectorstore.job WHERE filename LIKE 'many-%' AND status = 'completed'"), '20',
	'woken at commit despite a one-hour naptime');
sq("ALTER SYSTEM SET vectorstore.worker_naptime = '1s'; SELECT pg_reload_conf();");

# --- DROP EXTENSION / CREATE EXTENSION
# credentials are foreign servers of the extension's wrapper: CASCADE drops them too
sq('DROP EXTENSION vectorstore CASCADE');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'")
  or die;
pass('worker left after DROP EXTENSION');
sq('CREATE EXTENSION vectorstore');
my $vs2 = sq("SELECT id FROM vectorstore.vs_store_create(name => 'again')");
sq("SELECT vectorstore.vs_enqueue_upload('$vs2', 'again.txt', 'again')");
wait_idle();
is(sq("SELECT status FROM vectorstore.job"), 'completed', 'works again after CREATE EXTENSION');

# --- DROP DATABASE is not blocked by the worker (busy there: a stalled upload)
sq('CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION vectorstore');
my $vs3 = $node->safe_psql('other', "SELECT id FROM vectorstore.vs_store_create(name => 'other')");
$emu->fault({ kind => 'stall', count => 1, stall_ms => 20000, route => '/files', method => 'POST' });
$node->safe_psql('other', "SELECT vectorstore.vs_enqueue_upload('$vs3', 'o.txt', 'other db')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' AND datname = 'other'"),
	'worker connected to the other database');
($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE other');
is($rc, 0, 'DROP DATABASE (without FORCE) succeeds with a worker connected') or diag $err;

# --- the server log has no crash
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no crash in the log');
$emu->stop;
done_testing();
