# The queue keeps roles apart and holds no keys (adds to 050_queue's
# basics). Roles have no privilege on any table or sequence of the queue or
# of syncs: they use the vs_* functions, and read their own rows through
# views that filter on the caller and are security barriers. So one role
# cannot see another role's jobs or syncs through any relation, cannot
# cancel, retry, update, delete, lock or truncate them, cannot learn of them
# through a leaky function in a WHERE clause, cannot advance the job id
# sequence, and cannot forge a job for someone else. No table or view of
# the queue holds a key, not even the error text of a job that failed
# authentication.
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
	CREATE TABLE public.bobs (id int PRIMARY KEY, body text);
	ALTER TABLE public.bobs OWNER TO bob;
	INSERT INTO public.bobs VALUES (1, 'bob private row');
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
as('bob', "SET vectorstore.credential = 'wrong'; SELECT vectorstore.vs_sync_create('bobsync', 'public.bobs', '$vs', 'id', 'body')");
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM vectorstore.job WHERE status IN ('completed', 'failed')")
  or die 'jobs did not finish';
is($node->safe_psql('postgres', "SELECT string_agg(status, ',' ORDER BY id) FROM vectorstore.job"),
	'failed,completed', 'bob\'s job failed (wrong key), alice\'s completed');

# no table or sequence of the queue is open to a role
for my $rel (qw(job worker_state sweep sync sync_row sync_change))
{
	my (undef, undef, $err) = as('alice', "SELECT count(*) FROM vectorstore.$rel");
	like($err, qr/permission denied/, "alice may not read vectorstore.$rel");
}
my ($ret, $out, $err) = as('alice', "SELECT nextval('vectorstore.job_id_seq')");
like($err, qr/permission denied/, 'alice may not advance the job id sequence (ids are not hers to guess ahead)');

# nothing of bob's is visible to alice, through any view (worker_status shows
# the worker's global done/failed counters, by design: counts only)
for my $rel (qw(jobs queue_depth recent_failures worker_status syncs sync_rows sync_progress))
{
	my $all = as('alice', "SELECT coalesce(string_agg(t::text, ' '), '') FROM vectorstore.$rel t");
	unlike($all, qr/bob|private|wrong/, "alice sees nothing of bob's in vectorstore.$rel");
}
is(as('alice', "SELECT count(*) FROM vectorstore.jobs"), '1', 'alice sees one job (hers)');
is(as('alice', "SELECT jobs_pending FROM vectorstore.worker_status"), '0', 'worker_status counts only her jobs');
is(as('alice', "SELECT count(*) FROM vectorstore.recent_failures"), '0', 'recent_failures shows no failure of bob\'s');
is(as('bob', "SELECT count(*) FROM vectorstore.syncs"), '1', 'bob sees his sync');

# a leaky function in WHERE sees no row of bob's (the views are security barriers)
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
	$$ BEGIN RAISE NOTICE 'leak: %', $1; RETURN true; END $$;
});
(undef, $out, $err) = as('alice', "SELECT count(*) FROM vectorstore.jobs WHERE public.leak(filename)");
unlike($err, qr/bob/, 'a leaky WHERE function never sees bob\'s row');
like($err, qr/leak: alice/, '... it does see alice\'s own');
(undef, $out, $err) = as('alice', "SELECT count(*) FROM vectorstore.syncs WHERE public.leak(name || source)");
unlike($err, qr/bob/, 'nor bob\'s sync');

# no action on bob's job or sync
is(as('alice', "SELECT vectorstore.vs_job_retry($jb)"), 'f', 'alice cannot retry bob\'s failed job');
is(as('alice', "SELECT vectorstore.vs_job_cancel($jb)"), 'f', 'alice cannot cancel bob\'s job');
is(as('alice', "SELECT vectorstore.vs_sync_drop('bobsync')"), 'f', 'alice cannot drop bob\'s sync');
(undef, $out, $err) = as('alice', "SELECT * FROM vectorstore.vs_sync_run('bobsync')");
like($err, qr/does not exist/, 'alice cannot run bob\'s sync');
for my $sql ("UPDATE vectorstore.job SET status = 'queued', attempts = 0 WHERE id = $jb",
			 "UPDATE vectorstore.job SET attempts = 1100 WHERE id = $ja",
			 "DELETE FROM vectorstore.job WHERE id = $jb",
			 "TRUNCATE vectorstore.job",
			 "INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential) VALUES ('$vs', 'forged.txt', 'x', 'bob', 'wrong')",
			 "SELECT * FROM vectorstore.jobs FOR UPDATE",
			 "SELECT * FROM vectorstore.worker_state FOR UPDATE",
			 "UPDATE vectorstore.worker_state SET token = 'x'",
			 "UPDATE vectorstore.jobs SET status = 'queued' WHERE id = $ja",
			 "INSERT INTO vectorstore.sync (name, source, vector_store_id, key_column, content, owner) VALUES ('x', 'public.bobs', 'vs', 'id', 'body', 'bob')",
			 "DELETE FROM vectorstore.sync_row")
{
	(undef, undef, $err) = as('alice', $sql);
	like($err, qr/permission denied|cannot (lock|update)/, "denied: $sql");
}
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM vectorstore.job WHERE id = $jb"),
	'failed:1', 'bob\'s job is untouched');
is($node->safe_psql('postgres', "SELECT count(*) FROM vectorstore.job"), '2', 'nothing was forged');

# the owner and credential of a job are the caller's, whatever the session says
(undef, undef, $err) = as('alice', "SET vectorstore.credential = 'wrong'; SELECT vectorstore.vs_enqueue_upload('$vs', 'x.txt', 'x')");
like($err, qr/not granted|does not exist/, 'alice cannot queue with bob\'s credential');
as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'mine.txt', 'x')");
is($node->safe_psql('postgres', "SELECT owner || ':' || coalesce(credential, '-') FROM vectorstore.job WHERE filename = 'mine.txt'"),
	'alice:team', 'owner and credential are the caller\'s (her granted one)');
# ... also when a function of hers runs it as SECURITY DEFINER of another role
$node->safe_psql('postgres', qq{
	CREATE FUNCTION public.bob_enqueues() RETURNS bigint LANGUAGE sql SECURITY DEFINER
	  SET search_path = pg_catalog AS \$\$ SELECT vectorstore.vs_enqueue_upload('$vs', 'definer.txt', 'x') \$\$;
	ALTER FUNCTION public.bob_enqueues() OWNER TO bob;
	GRANT EXECUTE ON FUNCTION public.bob_enqueues() TO alice;
});
as('alice', "SELECT public.bob_enqueues()");
is($node->safe_psql('postgres', "SELECT owner || ':' || coalesce(credential, '-') FROM vectorstore.job WHERE filename = 'definer.txt'"),
	'bob:wrong', 'inside SECURITY DEFINER the job is the definer\'s, with the definer\'s credential');

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
		UNION ALL SELECT ws::text FROM vectorstore.worker_status ws
		UNION ALL SELECT y::text FROM vectorstore.sync y) x});
unlike($dump, qr/SECRET/, 'no key in job, worker_state, sync or the views');
like($node->safe_psql('postgres', "SELECT last_error FROM vectorstore.job WHERE id = $jb"),
	qr/401|api key|invalid/i, 'bob\'s failure says why (without the key)');
unlike(slurp_file($node->logfile), qr/SECRET/, 'no key in the server log');

$node->stop;
$emu->stop;
done_testing();
