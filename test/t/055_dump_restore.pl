# Issue 15's acceptance test for dump and restore, as a DBA would do it: a
# database with a (trigger-mode) table sync whose rows are synced, jobs that
# are still queued (the worker is paused), a named credential granted to a
# role and to a group role, and roles; pg_dump -Fc; a second cluster whose
# roles are created in another order after filler roles (so every oid
# differs); pg_restore there. Then: the same counts; the key is not in the
# dump, so a superuser sets it again; a sync run finds every row unchanged
# and nothing is uploaded again; the granted roles still search with the
# credential; the restored database's worker finds it is a copy, stays paused
# (log and worker_status say why) and sends nothing until vs_worker_resume(),
# then sends exactly the restored queue, under a marker token of its own, and
# the restored trigger of the sync still brings new rows in.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use VsTest;
use VsWorkerTest;

my $key = 'sk-dump-restore-SECRET-9a41c2';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key);
my $url = $emu->url . '/v1';
my @conf = (VsWorkerTest::conf(), "vectorstore.api_key = '$key'");
my $dir = tempdir(CLEANUP => 1);

sub posts { return scalar grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/files' } @{ $emu->requests }; }

# ---- the source cluster -------------------------------------------------
my $src = VsTest::new_node('source', $emu, conf => \@conf);
$src->start;
sub sq { my ($sql) = @_; return $src->safe_psql('app', $sql); }
sub as
{
	my ($node, $role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('app', $sql, extra_params => [ '-U', $role ]);
	return wantarray ? ($ret, $out, $err) : $out;
}

$src->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE writers NOLOGIN;
	GRANT writers TO bob; CREATE DATABASE app');
sq("CREATE EXTENSION vectorstore;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
	GRANT CREATE ON SCHEMA public TO alice;
	SET log_statement = 'none';
	SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url');
	SELECT vectorstore.vs_credential_grant('team', 'alice');
	GRANT USAGE ON FOREIGN SERVER team TO writers;");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'kb')");

# alice's table, synced through the credential, with a trigger
my ($ret, $out, $err) = as($src, 'alice', "CREATE TABLE public.notes (id int PRIMARY KEY, body text);
	INSERT INTO public.notes SELECT g, 'note number ' || g || ' about topic' || g FROM generate_series(1, 12) g;
	SET vectorstore.credential = 'team';
	SELECT vectorstore.vs_sync_create('notes', 'public.notes', '$vs', 'id', 'body', \"trigger\" => true);
	SELECT * FROM vectorstore.vs_sync_run('notes');");
is($out, "\n12|0|0|0", 'alice syncs her table of 12 rows through the credential') or diag($err);
VsWorkerTest::wait_idle($src, 'app');
is(sq("SELECT count(*) FILTER (WHERE status = 'completed') FROM vectorstore.sync_rows WHERE sync_name = 'notes'"), '12',
	'the 12 rows are synced');
# a second trigger-mode sync, whose table changes while the worker is paused
as($src, 'alice', "CREATE TABLE public.drafts (id int PRIMARY KEY, body text);
	INSERT INTO public.drafts SELECT g, 'draft ' || g FROM generate_series(1, 3) g;
	SET vectorstore.credential = 'team';
	SELECT vectorstore.vs_sync_create('drafts', 'public.drafts', '$vs', 'id', 'body', \"trigger\" => true);
	SELECT * FROM vectorstore.vs_sync_run('drafts');");
VsWorkerTest::wait_idle($src, 'app');

# the worker paused: what is queued now stays queued
is(sq("SELECT vectorstore.vs_worker_pause()"), 'f', 'the source\'s worker is paused');
$emu->clear_requests;
as($src, 'alice', "SET vectorstore.credential = 'team';
	SELECT vectorstore.vs_enqueue_upload('$vs', 'alice-' || g || '.txt', 'queued by alice ' || g) FROM generate_series(1, 3) g");
as($src, 'bob', "SET vectorstore.credential = 'team';
	SELECT vectorstore.vs_enqueue_upload('$vs', 'bob-' || g || '.txt', 'queued by bob ' || g) FROM generate_series(1, 3) g");
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'admin-' || g || '.txt', 'queued by the superuser ' || g) FROM generate_series(1, 2) g");
as($src, 'alice', "INSERT INTO public.drafts VALUES (4, 'draft 4, written while paused')");
is(sq("SELECT count(*) FROM vectorstore.sync_change"), '1', 'the change of drafts is pending when the database is dumped');
my $queued = sq("SELECT string_agg(id::text, ',' ORDER BY id) FROM vectorstore.job WHERE status = 'queued'");
is(scalar(split /,/, $queued), 8, '8 jobs queued (alice 3, bob 3 through the group role, the superuser 2)');
is(sq("SELECT string_agg(owner || ':' || coalesce(credential, '-'), ',' ORDER BY id) FROM vectorstore.job WHERE status = 'queued'"),
	'alice:team,alice:team,alice:team,bob:team,bob:team,bob:team,postgres:-,postgres:-', '... by owner and credential');
my $srctoken = sq("SELECT token FROM vectorstore.worker_state");

my $counts = "SELECT (SELECT count(*) FROM vectorstore.job) || ' jobs, '
	|| (SELECT count(*) FILTER (WHERE status = 'queued') FROM vectorstore.job) || ' queued, '
	|| (SELECT count(*) FROM vectorstore.sync) || ' syncs, '
	|| (SELECT count(*) FROM vectorstore.sync_row) || ' sync rows, '
	|| (SELECT count(*) FROM vectorstore.credentials) || ' credentials, '
	|| (SELECT string_agg(name || '=' || grantees::text, ' ') FROM vectorstore.credentials)";
my $before = sq($counts);
is($before, '23 jobs, 8 queued, 2 syncs, 15 sync rows, 1 credentials, team={alice,writers}', 'what the source holds');
my %srcoid = map { $_ => $src->safe_psql('postgres', "SELECT '$_'::regrole::oid") } qw(alice bob writers);

# a database whose worker never ran (the library not preloaded): its queued
# job was never sent, and a restore of it must not send it either
my $cold = VsTest::new_node('cold', $emu, preload => '', conf => \@conf);
$cold->start;
$cold->safe_psql('postgres', 'CREATE DATABASE cold');
$cold->safe_psql('cold', "CREATE EXTENSION vectorstore; SELECT vectorstore.vs_enqueue_upload('$vs', 'cold.txt', 'never sent')");
is($cold->safe_psql('cold', "SELECT count(*) FROM vectorstore.worker_state WHERE started_at IS NULL"), '1',
	'a database whose worker never ran has its identity row from CREATE EXTENSION');
my $colddump = "$dir/cold.dump";
$cold->command_ok([ 'pg_dump', '-Fc', '-f', $colddump, '-d', $cold->connstr('cold') ], 'pg_dump of it');
$cold->stop;

my $dump = "$dir/app.dump";
$src->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $src->connstr('app') ], 'pg_dump -Fc');
# (a -Fc dump is compressed: read what it would restore)
my $dumped = `pg_restore -f - '$dump'`;
like($dumped, qr/COPY vectorstore\.credential .*\nteam\t/s, 'the dump holds the credential');
unlike($dumped, qr/\Q$key\E/, '... and no key (keys live in credential_secret, which is not dumped)');
is(posts(), 0, 'the paused source sent nothing');
$src->stop;

# ---- the second cluster: roles made in another order, after fillers ----
my $dst = VsTest::new_node('target', $emu, conf => \@conf);
$dst->start;
$dst->safe_psql('postgres', 'CREATE ROLE filler1; CREATE ROLE filler2; CREATE ROLE filler3;
	CREATE ROLE bob LOGIN; CREATE ROLE writers NOLOGIN; CREATE ROLE alice LOGIN; GRANT writers TO bob;
	CREATE DATABASE app');
for my $r (qw(alice bob writers))
{
	isnt($dst->safe_psql('postgres', "SELECT '$r'::regrole::oid"), $srcoid{$r}, "$r has another oid in the second cluster");
}
$emu->clear_requests;
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('app'), $dump ], 'pg_restore into the second cluster');
sub dq { my ($sql) = @_; return $dst->safe_psql('app', $sql); }
$dst->safe_psql('postgres', 'CREATE DATABASE cold');
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', $dst->connstr('cold'), $colddump ], 'pg_restore of the database whose worker never ran');

is(dq($counts), $before, 'the same jobs, queued jobs, syncs, sync rows, credentials and grants (by role name)');
is(dq("SELECT string_agg(owner || ':' || coalesce(credential, '-'), ',' ORDER BY id) FROM vectorstore.job WHERE status = 'queued'"),
	'alice:team,alice:team,alice:team,bob:team,bob:team,bob:team,postgres:-,postgres:-', 'the queued jobs keep their owners by name');
is(dq("SELECT string_agg(owner || ' ' || source || ' ' || use_trigger, ', ' ORDER BY name) FROM vectorstore.sync"),
	'alice public.drafts true, alice public.notes true', 'the syncs keep their owner and source by name');
is(dq("SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('public.notes'::regclass, 'public.drafts'::regclass) AND NOT tgisinternal"),
	'2', 'the syncs\' triggers are restored');

# the restored database's worker: a restart makes the launcher visit it
$dst->restart;
ok($dst->poll_query_until('app', "SELECT paused AND paused_reason ~ '^copy of database' FROM vectorstore.worker_status"),
	'the restored database\'s worker found it is a copy: paused, and worker_status says why');
ok($dst->wait_for_log(qr/database "app" is a copy \(restored or made from a template\): its worker is paused/),
	'... and the log says so');
is(dq("SELECT pid IS NULL FROM vectorstore.worker_status"), 't', '... and no worker runs for it');
ok($dst->poll_query_until('cold', "SELECT paused AND paused_reason ~ '^copy of database' FROM vectorstore.worker_status"),
	'the restored database whose worker never ran is found to be a copy too');

# keys are not dumped: the credential has none until a superuser sets it again
is(dq("SELECT key FROM vectorstore.credentials WHERE name = 'team'"), 'missing', 'the restored credential has no key');
($ret, $out, $err) = as($dst, 'alice', "SET vectorstore.credential = 'team'; SELECT count(*) FROM vectorstore.vs_search('$vs', 'topic7')");
like($err, qr/credential "team" has no API key \(keys are not kept in dumps\)/, '... and says so when alice uses it');
dq("SET log_statement = 'none'; SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url')");
is(dq("SELECT key || ' ' || grantees::text FROM vectorstore.credentials WHERE name = 'team'"), 'stored {alice,writers}',
	'a superuser sets the key again; the grants are kept');

# the sync: every row unchanged, nothing uploaded again
is(as($dst, 'alice', "SELECT * FROM vectorstore.vs_sync_run('notes')"), '0|0|0|12',
	'a sync run in the restored database finds every row unchanged');
is(dq("SELECT count(*) FROM vectorstore.job WHERE status = 'queued'"), '8', '... and queues nothing new');

# the granted roles search with the credential
($ret, $out, $err) = as($dst, 'alice', "SET vectorstore.credential = 'team';
	SELECT r.filename FROM vectorstore.vs_search('$vs', 'topic7') r ORDER BY r.rank LIMIT 1");
like($out, qr/_7\.txt\z/, 'alice searches the store with the credential and finds the synced row') or diag($err);
($ret, $out, $err) = as($dst, 'bob', "SET vectorstore.credential = 'team';
	SELECT count(*) > 0 FROM vectorstore.vs_search('$vs', 'topic3')");
is($out, 't', 'bob, through the group role, too') or diag($err);

# paused: nothing is sent, even after a COMMIT that queues work
as($dst, 'alice', "INSERT INTO public.notes VALUES (13, 'note number 13 about topic13')");
is(dq("SELECT count(*) FROM vectorstore.sync_change"), '1', 'the restored trigger records a change of the table');
$dst->restart;
ok($dst->poll_query_until('app', "SELECT paused FROM vectorstore.worker_status"), 'still paused after another restart');
is(posts(), 0, 'nothing was uploaded: not the restored queue, not a row again');
is(dq("SELECT count(*) FROM vectorstore.job WHERE status = 'queued'"), '8', 'the restored queue is still queued');

# resumed: the queue drains, under the copy's own marker token
is(dq("SELECT vectorstore.vs_worker_resume()"), 't', 'a superuser resumes the worker');
my $token = dq("SELECT token FROM vectorstore.worker_state");
isnt($token, $srctoken, 'the copy has a marker token of its own');
VsWorkerTest::wait_idle($dst, 'app', 'the restored queue');
is(dq("SELECT count(*) FROM vectorstore.job WHERE id IN ($queued) AND status = 'completed'"), '8',
	'every restored job completed');
my @uploaded = sort { $a <=> $b } map { /^vsjob-\Q$token\E-(\d+)-/ ? $1 : () }
  map { $_->{filename} } @{ $emu->request('GET', '/v1/files?limit=10000', undef, Authorization => "Bearer $key")->{data} };
my $new = dq("SELECT string_agg(id::text, ',' ORDER BY id) FROM vectorstore.job
	WHERE (sync_name, row_key) IN (('notes', '13'), ('drafts', '4'))");
is(join(',', @uploaded), "$queued,$new", 'the files uploaded are the restored queue and the two new rows, under the copy\'s token');
is(posts(), 10, 'ten uploads in all: no synced row was uploaded again');
is(dq("SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'completed') FROM vectorstore.sync_rows WHERE sync_name = 'notes'"),
	'13 13', 'the restored trigger brought the new row in');
is(dq("SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'completed') FROM vectorstore.sync_rows WHERE sync_name = 'drafts'"),
	'4 4', 'the change pending when the database was dumped is not lost: the resumed copy computes its trigger-mode syncs');
is(dq("SELECT paused FROM vectorstore.worker_status"), 'f', 'worker_status: running');
is($dst->safe_psql('cold', "SELECT status FROM vectorstore.job"), 'queued', 'the job of the database whose worker never ran is still queued');

# a dump restored into the database it was taken from (pg_restore --clean):
# the CREATE EXTENSION of the restore makes a row of this identity and the
# COPY adds the dumped one beside it (no conflict: rows are keyed by their
# nonce); both are this database's, the older (the dumped one, whose token
# the files on the server carry) is kept, and nothing is paused
my $selfdump = "$dir/self.dump";
$dst->command_ok([ 'pg_dump', '-Fc', '-f', $selfdump, '-d', $dst->connstr('app') ], 'pg_dump of the resumed copy');
$dst->command_ok([ 'pg_restore', '--exit-on-error', '--clean', '--if-exists', '-d', $dst->connstr('app'), $selfdump ],
	'pg_restore --clean into the database it was taken from');
is(dq("SELECT paused::text || ' ' || coalesce(paused_reason, '-') FROM vectorstore.worker_status"), 'false -',
	'restored into itself, the database is not a copy');
my $j = dq("SELECT vectorstore.vs_enqueue_upload('$vs', 'self.txt', 'after restoring into itself')");
VsWorkerTest::wait_idle($dst, 'app', 'the job queued after restoring into itself');
is(dq("SELECT count(*) || ' ' || min(token) FROM vectorstore.worker_state"), "1 $token",
	'its worker keeps the older row of its identity, with the token its files carry');
ok(grep({ $_->{filename} =~ /^vsjob-\Q$token\E-$j-/ } @{ $emu->request('GET', '/v1/files?limit=10000', undef, Authorization => "Bearer $key")->{data} }),
	'and uploads under it');

$dst->stop;
for my $n ($src, $cold, $dst)
{
	my $log = slurp_file($n->logfile);
	unlike($log, qr/terminated by signal|PANIC/, $n->name . ': no crash in the log');
	unlike($log, qr/\Q$key\E/, $n->name . ': no key in the log');
}
$emu->stop;
done_testing();
