# The upload queue keeps roles apart and holds no keys (adds to 050_queue's
# basics): one role cannot see another role's jobs through the table or
# any view, cannot cancel, retry, update, delete or truncate them, cannot
# learn of them through a leaky function in a WHERE clause, and cannot
# forge a job for someone else. No table or view of the queue holds a key,
# not even the error text of a job that failed authentication.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $key = 'sk-team-SECRET-7d1e';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key);
my $node = VsTest::new_node('jobsec', $emu, conf => [
	"vectorstore.api_key = '$key'",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '1s'",
	"vectorstore.worker_poll_interval = '100ms'",
	"vectorstore.worker_max_attempts = 1",
	"vectorstore.timeout = '3s'" ]);
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
	SET log_statement = 'none';
	SELECT vectorstore.vs_credential_set('team', '$key');
	SELECT vectorstore.vs_credential_set('wrong', 'sk-wrong-SECRET-0bad');
	SELECT vectorstore.vs_credential_grant('team', 'alice');
	SELECT vectorstore.vs_credential_grant('wrong', 'bob');
});
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'q')");

sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return wantarray ? ($ret, $out, $err) : $out;
}

# bob's job fails (wrong key) and stays failed; alice's completes
my $jb = as('bob', "SET vectorstore.credential = 'wrong'; SELECT vectorstore.vs_enqueue_upload('$vs', 'bob-secret-plan.txt', 'bob private text')");
my $ja = as('alice', "SET vectorstore.credential = 'team'; SELECT vectorstore.vs_enqueue_upload('$vs', 'alice.txt', 'alice text')");
like($jb, qr/^\d+$/, 'bob enqueued');
like($ja, qr/^\d+$/, 'alice enqueued');
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM vectorstore.job WHERE status IN ('completed', 'failed')")
  or die 'jobs did not finish';
is($node->safe_psql('postgres', "SELECT string_agg(status, ',' ORDER BY id) FROM vectorstore.job"),
	'failed,completed', 'bob\'s job failed (wrong key), alice\'s completed');

# nothing of bob's is visible to alice, through any relation (worker_status
# shows the worker's global done/failed counters, by design: counts only)
for my $rel (qw(job jobs queue_depth recent_failures worker_status))
{
	my $all = as('alice', "SELECT coalesce(string_agg(t::text, ' '), '') FROM vectorstore.$rel t");
	unlike($all, qr/bob|private|wrong/, "alice sees nothing of bob's in vectorstore.$rel");
}
is(as('alice', "SELECT count(*) FROM vectorstore.job"), '1', 'alice sees one job (hers)');
is(as('alice', "SELECT jobs_pending FROM vectorstore.worker_status"), '0', 'worker_status counts only her jobs');
is(as('alice', "SELECT count(*) FROM vectorstore.recent_failures"), '0', 'recent_failures shows no failure of bob\'s');

# a leaky function in WHERE sees no row of bob's (RLS is applied first)
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
	$$ BEGIN RAISE NOTICE 'leak: %', $1; RETURN true; END $$;
});
my (undef, $out, $err) = as('alice', "SELECT count(*) FROM vectorstore.job WHERE public.leak(filename || convert_from(content, 'UTF8'))");
unlike($err, qr/bob/, 'a leaky WHERE function never sees bob\'s row');
like($err, qr/leak: alice/, '... it does see alice\'s own');

# no action on bob's job
is(as('alice', "SELECT vectorstore.vs_job_retry($jb)"), 'f', 'alice cannot retry bob\'s failed job');
is(as('alice', "SELECT vectorstore.vs_job_cancel($jb)"), 'f', 'alice cannot cancel bob\'s job');
is(as('alice', "WITH u AS (UPDATE vectorstore.job SET status = 'queued', attempts = 0 WHERE id = $jb RETURNING id) SELECT count(*) FROM u"),
	'0', 'UPDATE of bob\'s job touches no row');
my ($ret);
($ret, $out, $err) = as('alice', "DELETE FROM vectorstore.job WHERE id = $jb");
like($err, qr/permission denied/, 'DELETE on the queue is denied');
($ret, $out, $err) = as('alice', "TRUNCATE vectorstore.job");
like($err, qr/permission denied/, 'TRUNCATE of the queue is denied');
($ret, $out, $err) = as('alice', "UPDATE vectorstore.job SET owner = (SELECT oid FROM pg_roles WHERE rolname = 'bob') WHERE id = $ja");
like($err, qr/permission denied/, 'alice cannot give her job to bob (owner column)');
($ret, $out, $err) = as('alice', "UPDATE vectorstore.job SET credential = 'wrong' WHERE id = $ja");
like($err, qr/permission denied/, 'alice cannot switch her job to another credential');
($ret, $out, $err) = as('alice', "UPDATE vectorstore.job SET content = 'x' WHERE id = $ja");
like($err, qr/permission denied/, 'alice cannot rewrite a job\'s content');
($ret, $out, $err) = as('alice', "SELECT * FROM vectorstore.worker_state FOR UPDATE");
like($err, qr/permission denied/, 'the worker state cannot be locked by a user');
($ret, $out, $err) = as('alice', "UPDATE vectorstore.worker_state SET token = 'x'");
like($err, qr/permission denied/, 'the worker state cannot be changed by a user');
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM vectorstore.job WHERE id = $jb"),
	'failed:1', 'bob\'s job is untouched');

# a forged insert cannot name bob as owner or use his credential
as('alice', "INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential)
	VALUES ('$vs', 'forged.txt', 'x', (SELECT oid FROM pg_roles WHERE rolname = 'bob'), 'wrong')");
is($node->safe_psql('postgres', "SELECT owner::regrole || ':' || coalesce(credential, '-') FROM vectorstore.job WHERE filename = 'forged.txt'"),
	'alice:team', 'owner and credential of an insert are the inserter\'s (her granted one), whatever is given');

# bob can still act on his own job
is(as('bob', "SELECT vectorstore.vs_job_cancel($jb)"), 'f', 'bob: a failed job is not cancellable');
is(as('bob', "SELECT count(*) FROM vectorstore.jobs WHERE id = $jb"), '1', 'bob sees his job');

# no key in any queue relation, as the superuser sees them, nor in the log
my $dump = $node->safe_psql('postgres', q{
	SELECT string_agg(t, ' ') FROM (
		SELECT j::text AS t FROM vectorstore.job j
		UNION ALL SELECT w::text FROM vectorstore.worker_state w
		UNION ALL SELECT s::text FROM vectorstore.jobs s
		UNION ALL SELECT f::text FROM vectorstore.recent_failures f
		UNION ALL SELECT d::text FROM vectorstore.queue_depth d
		UNION ALL SELECT ws::text FROM vectorstore.worker_status ws) x});
unlike($dump, qr/SECRET/, 'no key in job, worker_state or the queue views');
like($node->safe_psql('postgres', "SELECT last_error FROM vectorstore.job WHERE id = $jb"),
	qr/401|api key|invalid/i, 'bob\'s failure says why (without the key)');
unlike(slurp_file($node->logfile), qr/SECRET/, 'no key in the server log');

$node->stop;
$emu->stop;
done_testing();
