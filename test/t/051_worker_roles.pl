# Issue 10's reproductions on the role side, each as it was reported
# against 0.1.0 (where each of these fails) and the mechanism that now
# stops it:
#   1  a writer to a synced table became superuser through pg_temp
#   2  a planted file was adopted as another role's upload
#   4  one role's bad job (and an overflowing attempts) stopped everyone
#   5  a revoked credential was used by a retried job
#   8  an ERROR between claim and record stranded jobs until a restart
#   9  DROP ROLE left jobs that a new role could inherit
#  10  a database owner became superuser through the worker's search_path
#  11  a role froze the worker with a row lock
#  13  the queue was one FIFO for everyone
# plus the record fallback: a job whose record raises fails alone.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $proxy = VsWorkerTest::Proxy->start($emu);
my $node = VsTest::new_node('roles', $emu, conf => [ VsWorkerTest::conf(max_attempts => 3),
	"vectorstore.connect_timeout = '1s'" ]);
$node->start;

sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'postgres', $sql); }
sub as
{
	my ($role, $sql, $db) = @_;
	my ($ret, $out, $err) = $node->psql($db // 'postgres', $sql, extra_params => [ '-U', $role ]);
	return wantarray ? ($ret, $out, $err) : $out;
}
sub wait_idle { VsWorkerTest::wait_idle($node, @_); }
sub api { return scalar $emu->request('GET', $_[0]); }

# A session kept open in the background (a transaction holding locks).
sub bg_session
{
	my ($user, $sql, $until) = @_;
	my %s = (in => '', out => '', err => '');
	$s{timer} = IPC::Run::timer(60);
	$s{h} = IPC::Run::start(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('postgres') . " user=$user"], '<', \$s{in}, '>', \$s{out}, '2>', \$s{err}, $s{timer});
	$s{in} .= "$sql\n";
	$s{h}->pump until $s{out} =~ $until || $s{timer}->is_expired;
	die "background session: $s{err}" if $s{timer}->is_expired;
	return \%s;
}
sub bg_end
{
	my ($s, $sql) = @_;
	$s->{in} .= "$sql\n\\q\n";
	$s->{h}->finish;
	return $s->{out};
}

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN; CREATE ROLE dave LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob, carol;
});
sq("SELECT vectorstore.vs_credential_set('ca', 'sk-ca-SECRET', '" . $emu->url . "/v1', project => 'p-a');
    SELECT vectorstore.vs_credential_grant('ca', 'alice');
    SELECT vectorstore.vs_credential_set('lost', 'sk-lost', '" . $proxy->url('lost') . "', project => 'p-lost');
    SELECT vectorstore.vs_credential_grant('lost', 'bob');");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'roles')");

# ---------------------------------------------------------------------
# 1. A writer to a synced table cannot run SQL with the sync owner's rights
# ---------------------------------------------------------------------
sq("CREATE TABLE public.pages (id int PRIMARY KEY, body text);
    CREATE TABLE public.pwned (who text);
    GRANT INSERT ON public.pages TO dave; GRANT INSERT ON public.pwned TO dave;
    SELECT vectorstore.vs_sync_create('pages', 'public.pages', '$vs', 'id', 'body', \"trigger\" => true);");
my ($rc, $out, $err) = as('dave', q{
	CREATE TEMP TABLE vs_sync_current (k text PRIMARY KEY, c text, a jsonb, h text);
	CREATE FUNCTION pg_temp.evil() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.pwned VALUES (current_user);
		EXECUTE 'ALTER ROLE dave SUPERUSER';
		RETURN NEW;
	END $$;
	CREATE TRIGGER evil AFTER INSERT ON pg_temp.vs_sync_current FOR EACH ROW EXECUTE FUNCTION pg_temp.evil();
	CREATE FUNCTION pg_temp.md5(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
	INSERT INTO public.pages VALUES (1, 'first page'), (2, 'second page');
});
is($rc, 0, 'dave (INSERT only, no USAGE on vectorstore) writes to the synced table') or diag $err;
wait_idle(undef, 'sync of pages');
is(sq("SELECT rolsuper FROM pg_roles WHERE rolname = 'dave'"), 'f', '1: dave is not superuser');
is(sq("SELECT count(*) FROM public.pwned"), '0', '1: no SQL of dave\'s ran with anyone else\'s rights');
is(sq("SELECT count(*) FROM vectorstore.sync_rows WHERE sync_name = 'pages' AND file_id IS NOT NULL"), '2',
	'1: the worker computed the change (as the sync\'s owner) and both rows are synced');
is(sq("SELECT count(*) FROM vectorstore.sync_change"), '0', '1: the recorded change was consumed');

# ---------------------------------------------------------------------
# 13. Turns, not FIFO: one role's 1,500 jobs do not come before another's one
# ---------------------------------------------------------------------
sq("SELECT vectorstore.vs_worker_pause()");
as('alice', "SELECT count(vectorstore.vs_enqueue_upload('$vs', 'bulk-' || g || '.txt', 'bulk ' || g)) FROM generate_series(1, 1500) g");
my $jc = as('carol', "SELECT vectorstore.vs_enqueue_upload('$vs', 'carol.txt', 'one job of carol')");
sq("SELECT vectorstore.vs_worker_resume()");
$node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $jc") or die;
is(sq("SELECT count(*) FROM vectorstore.job a, vectorstore.job c
       WHERE c.id = $jc AND a.owner = 'alice' AND a.started_at < c.started_at"), '0',
	'13: carol\'s one job was claimed in the first claim, before any of alice\'s 1,500 queued earlier');
ok(sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status = 'completed'") < 1500,
	'13: ... and finished before alice\'s were all done');
wait_idle(undef, 'bulk');

# ---------------------------------------------------------------------
# 2. A planted file is never adopted: adoption needs the job's secret
# ---------------------------------------------------------------------
(undef, undef, $err) = as('carol', "SELECT token FROM vectorstore.worker_state");
like($err, qr/permission denied/, '2: the marker token is not readable by roles');
# even with the token and the next id (a superuser hands them over), carol
# cannot make a file bob's job adopts: she does not know its secret
my $token = sq("SELECT token FROM vectorstore.worker_state");
my $next = sq("SELECT last_value + 1 FROM vectorstore.job_id_seq");
my $victim = 'bob victim text!';
my $planted = 'carol owns this!';	# the same size: only the secret tells them apart
as('carol', "SELECT vectorstore.vs_file_upload('vsjob-$token-$next-" . ('0' x 32) . "_victim.txt', '$planted')");
my $files0 = $emu->count('POST /v1/files', 200);
my $jv = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'victim.txt', '$victim')");
is($jv, $next, 'bob\'s job got the id carol planted a file for');
wait_idle(undef, 'victim');
is(sq("SELECT status FROM vectorstore.job WHERE id = $jv"), 'completed', '2: bob\'s job completed (its answer was lost)');
my $vf = sq("SELECT file_id FROM vectorstore.job WHERE id = $jv");
my (undef, $content) = $emu->request('GET', "/v1/files/$vf/content");
is($content, $victim, '2: the adopted file holds bob\'s own content, not the planted one');
is($emu->count('POST /v1/files', 200) - $files0, 1, '2: bob\'s content was uploaded once (adopted, not uploaded again)');
ok((grep { $_->{filename} =~ /_victim\.txt$/ && $_->{id} ne $vf } @{ api('/v1/files?limit=10000')->{data} }),
	'2: the planted file was left alone (not ours to judge)');

# ---------------------------------------------------------------------
# 4. A bad job fails alone; attempts cannot overflow the back-off
# ---------------------------------------------------------------------
my $jbad = as('carol', "SELECT vectorstore.vs_enqueue_upload('vs_a/b', 'bad.txt', 'bad store id')");
my @good = split /\n/, as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'good-' || g || '.txt', 'good ' || g) FROM generate_series(1, 5) g");
wait_idle(undef, 'bad store id');
like(sq("SELECT status || ' ' || attempts || ' ' || last_error FROM vectorstore.job WHERE id = $jbad"),
	qr/^failed 1 .*invalid object id "vs_a\/b"/, '4: the job with a bad store id failed alone, at once, with its error');
is(sq("SELECT count(*) FROM vectorstore.job WHERE id IN (" . join(',', @good) . ") AND status = 'completed'"), '5',
	'4: the other role\'s jobs completed');
(undef, undef, $err) = as('carol', "UPDATE vectorstore.job SET attempts = 1100 WHERE id = $jbad");
like($err, qr/permission denied/, '4: a role cannot set its job\'s attempts');
# a corrupt row (as only a superuser could make): attempts at the top of int
sq("SELECT vectorstore.vs_worker_pause()");
my $jo = as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'overflow.txt', 'overflow')");
my $jo2 = as('carol', "SELECT vectorstore.vs_enqueue_upload('$vs', 'next.txt', 'next')");
sq("UPDATE vectorstore.job SET attempts = 2147483647 WHERE id = $jo");
$emu->fault({ kind => '503', count => 2, route => '/files', method => 'POST' });
sq("SELECT vectorstore.vs_worker_resume()");
wait_idle(undef, 'overflow');
is(sq("SELECT status FROM vectorstore.job WHERE id = $jo2"), 'completed', '4: the job sent with it completed');
is(sq("SELECT status FROM vectorstore.job WHERE id = $jo"), 'failed',
	'4: the job with attempts at INT_MAX failed cleanly (its back-off computed without overflow)');
unlike(slurp_file($node->logfile), qr/integer out of range|value out of range/, '4: no overflow in the log');

# ---------------------------------------------------------------------
# 5. Authority at send time: a retried job cannot use a revoked credential
# ---------------------------------------------------------------------
sq("SELECT vectorstore.vs_worker_pause()");
my $j5 = as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'revoked.txt', 'revoked')");
is(as('alice', "SELECT vectorstore.vs_job_cancel($j5)"), 't', '5: alice cancels her job');
sq("SELECT vectorstore.vs_credential_revoke('ca', 'alice')");
is(as('alice', "SELECT vectorstore.vs_job_retry($j5)"), 't', '5: ... and retries it after the revoke');
$emu->clear_requests;
sq("SELECT vectorstore.vs_worker_resume()");
wait_idle(undef, 'revoked');
like(sq("SELECT status || ': ' || last_error FROM vectorstore.job WHERE id = $j5"),
	qr/^failed: role "alice" may not use credential "ca"/, '5: the job failed, saying the credential may not be used');
is(scalar(grep { ($_->{headers}{authorization} // '') =~ /sk-ca-SECRET/ } @{ $emu->requests }), 0,
	'5: nothing was sent with the revoked credential');
sq("SELECT vectorstore.vs_credential_grant('ca', 'alice')");

# ---------------------------------------------------------------------
# 9. DROP ROLE: jobs are the role's by name; another role inherits nothing
# ---------------------------------------------------------------------
sq("CREATE ROLE eve LOGIN; GRANT USAGE ON SCHEMA vectorstore TO eve; SELECT vectorstore.vs_worker_pause();");
my $j9 = as('eve', "SELECT vectorstore.vs_enqueue_upload('$vs', 'eve.txt', 'eve')");
sq("DROP OWNED BY eve; DROP ROLE eve; CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;");
is(as('mallory', "SELECT count(*) FROM vectorstore.jobs"), '0', '9: a role made after the drop sees none of the dropped role\'s jobs');
is(as('mallory', "SELECT vectorstore.vs_job_cancel($j9)"), 'f', '9: ... and cannot act on them');
sq("SELECT vectorstore.vs_worker_resume()");
wait_idle(undef, 'eve');
like(sq("SELECT status || ': ' || last_error FROM vectorstore.job WHERE id = $j9"),
	qr/^failed: role "eve" does not exist/, '9: the dropped role\'s job failed when it was to be sent');

# ---------------------------------------------------------------------
# 11. Nothing a role can lock makes the worker wait
# ---------------------------------------------------------------------
(undef, undef, $err) = as('alice', "BEGIN; SELECT * FROM vectorstore.jobs FOR UPDATE;");
like($err, qr/permission denied/, '11: a role cannot lock its job rows through the view');
sq("SELECT vectorstore.vs_worker_pause()");
my ($ja1, $ja2) = split /\n/, as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'lock-' || g || '.txt', 'lock ' || g) FROM generate_series(1, 2) g");
my @jb11 = split /\n/, as('carol', "SELECT vectorstore.vs_enqueue_upload('$vs', 'free-' || g || '.txt', 'free ' || g) FROM generate_series(1, 3) g");
# alice holds her job's row locked in an open transaction (vs_job_cancel)
my $s11 = bg_session('alice', "BEGIN; SELECT vectorstore.vs_job_cancel($ja1);", qr/^t$/m);
sq("SELECT vectorstore.vs_worker_resume()");
ok($node->poll_query_until('postgres', "SELECT count(*) = 4 FROM vectorstore.job
	WHERE id IN ($ja2, " . join(',', @jb11) . ") AND status = 'completed'"),
	'11: while alice holds a row lock, every other job completes');
is(sq("SELECT status FROM vectorstore.job WHERE id = $ja1"), 'queued', '11: the locked job was skipped, not waited for');
bg_end($s11, 'ROLLBACK;');
wait_idle(undef, 'lock released');
is(sq("SELECT status FROM vectorstore.job WHERE id = $ja1"), 'completed', '11: once released it completes');

# ---------------------------------------------------------------------
# 8. An ERROR (or a skipped record) between claim and record strands nothing
# ---------------------------------------------------------------------
# the file batch request stalls; meanwhile a superuser session holds the
# jobs' rows, so the record of the batch skips them: they stay attaching
# with no batch, and are attached again when their lease ends (same worker)
$emu->fault({ kind => 'stall', count => 1, stall_ms => 2500, route => '/file_batches', method => 'POST' });
my $b0 = $emu->count('POST /v1/vector_stores/{id}/file_batches', 200);
my @j8 = split /\n/, as('carol', "SELECT vectorstore.vs_enqueue_upload('$vs', 'strand-' || g || '.txt', 'strand ' || g) FROM generate_series(1, 3) g");
my $ids8 = join(',', @j8);
$node->poll_query_until('postgres', "SELECT count(*) = 3 FROM vectorstore.job WHERE id IN ($ids8) AND status = 'attaching'") or die;
$emu->clear_requests;
my $s8 = bg_session('postgres', "BEGIN; SELECT count(*) FROM (SELECT id FROM vectorstore.job WHERE id IN ($ids8) FOR UPDATE) l;", qr/^3$/m);
# the stalled request is answered (the emulator logs it then); the pass that
# records it ends with the next heartbeat (or the worker leaves: nothing due)
$emu->clear_requests;
for (1 .. 300)
{
	last if grep { $_->{path} =~ m{/file_batches$} && ($_->{fault} // '') eq 'stall' } @{ $emu->requests };
	usleep(50_000);
}
my $answered = sq("SELECT now()");
$node->poll_query_until('postgres', "SELECT heartbeat_at > '$answered' OR NOT EXISTS (SELECT 1 FROM pg_stat_activity
	WHERE backend_type = 'vectorstore worker') FROM vectorstore.worker_state") or die;
bg_end($s8, 'COMMIT;');
is(sq("SELECT count(*) FROM vectorstore.job WHERE id IN ($ids8) AND status = 'attaching' AND batch_id IS NULL"), '3',
	'8: the batch\'s record skipped the locked jobs: attaching with no batch');
wait_idle(undef, 'stranded');
is(sq("SELECT count(*) FROM vectorstore.job WHERE id IN ($ids8) AND status = 'completed'"), '3',
	'8: they were attached again when their lease ended');

# ---------------------------------------------------------------------
# The record fallback: a job whose record raises fails alone
# ---------------------------------------------------------------------
sq("SELECT vectorstore.vs_worker_pause()");
my @jf = split /\n/, as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'rec-' || g || '.txt', 'rec ' || g) FROM generate_series(1, 4) g");
sq("CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN RAISE EXCEPTION 'boom: this data cannot be recorded'; END \$\$;
    CREATE TRIGGER boom BEFORE UPDATE ON vectorstore.job FOR EACH ROW
	WHEN (NEW.id = $jf[1] AND NEW.status = 'uploaded') EXECUTE FUNCTION public.boom();
    SELECT vectorstore.vs_worker_resume();");
wait_idle(undef, 'record fallback');
like(sq("SELECT status || ': ' || last_error FROM vectorstore.job WHERE id = $jf[1]"), qr/^failed: boom/,
	'fallback: the job whose record raised failed alone, with that error');
is(sq("SELECT count(*) FROM vectorstore.job WHERE id IN ($jf[0], $jf[2], $jf[3]) AND status = 'completed'"), '3',
	'fallback: the jobs recorded with it completed');
like(slurp_file($node->logfile), qr/recording \d+ uploads at once failed .*boom.*recording them one by one/,
	'fallback: the set-based record raised and the worker recorded them one by one');
sq("DROP TRIGGER boom ON vectorstore.job");

# ---------------------------------------------------------------------
# 10. A database owner cannot make the worker run its functions
# ---------------------------------------------------------------------
sq("CREATE ROLE dbo LOGIN; CREATE DATABASE owned OWNER dbo; CREATE ROLE pub LOGIN;");
sq("CREATE EXTENSION vectorstore; GRANT CREATE ON SCHEMA public TO pub;
    CREATE TABLE public.pwned (who text, what text); GRANT INSERT ON public.pwned TO PUBLIC;", 'owned');
my $vs10 = sq("SELECT id FROM vectorstore.vs_store_create(name => 'owned')", 'owned');
as('dbo', q{
	CREATE SCHEMA evil;
	CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.pwned VALUES (current_user, 'evil.now');
		EXECUTE 'ALTER ROLE dbo SUPERUSER';
		RETURN pg_catalog.now();
	END $$;
	CREATE FUNCTION evil.power(float8, float8) RETURNS float8 LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.pwned VALUES (current_user, 'evil.power');
		EXECUTE 'ALTER ROLE dbo SUPERUSER';
		RETURN pg_catalog.power($1, $2);
	END $$;
	ALTER DATABASE owned SET search_path = evil, pg_catalog;
	ALTER DATABASE owned SET default_transaction_read_only = on;
	ALTER DATABASE owned SET vectorstore.timeout = '1ms';
	ALTER DATABASE owned SET plpgsql.extra_errors = 'all';
	ALTER DATABASE owned SET TimeZone = 'Pacific/Kiritimati';
}, 'owned');
as('pub', q{
	SET default_transaction_read_only = off;
	CREATE FUNCTION public.make_interval(secs numeric) RETURNS interval LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.pwned VALUES (current_user, 'public.make_interval');
		EXECUTE 'ALTER ROLE pub SUPERUSER';
		RETURN pg_catalog.make_interval(secs => secs::float8);
	END $$;
}, 'owned');
$emu->fault({ kind => '503', count => 2, route => '/files', method => 'POST' });
sq("SET default_transaction_read_only = off;
    SELECT vectorstore.vs_enqueue_upload('$vs10', 'o' || g || '.txt', 'owned ' || g) FROM generate_series(1, 3) g", 'owned');
VsWorkerTest::wait_idle($node, 'owned', 'owned database');
is(sq("SELECT count(*) FROM vectorstore.job WHERE status = 'completed'", 'owned'), '3',
	'10: the jobs completed (retries and back-off included)');
is(sq("SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname IN ('dbo', 'pub') AND rolsuper"), '',
	'10: neither the database owner nor a role with CREATE on public became superuser');
is(sq("SELECT count(*) FROM public.pwned", 'owned'), '0', '10: none of their functions ran in the worker');
like(slurp_file($node->logfile), qr/vectorstore worker: ignoring the database's or role's setting of "search_path"/,
	'10: the worker put the database\'s search_path back');

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no crash in the log');
$proxy->stop;
$emu->stop;
done_testing();
