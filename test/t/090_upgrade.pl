# Upgrading: a database created at 0.1.0 (the script as it shipped, kept in
# sql/versions/) with a store, a sync and queued jobs is served by the new
# library before ALTER EXTENSION ... UPDATE, then updated; every object is
# compared with a fresh install (test/upgrade/describe.sql), only the
# differences listed in test/upgrade/allowed-differences.txt are accepted,
# the data is intact and the worker carries on.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use VsTest;

my $top = $ENV{TESTDIR} // '.';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => 'sk-up');
my $node = VsTest::new_node('upgrade', $emu, conf => [
	"vectorstore.api_key = 'sk-up'",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '200ms'",
	"vectorstore.worker_poll_interval = '100ms'",
]);
$node->start;

sub sq { my ($db, $sql) = @_; return $node->safe_psql($db, $sql); }

my @versions = split /\n/, sq('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'vectorstore' ORDER BY version");
ok((grep { $_ eq '0.1.0' } @versions), 'version 0.1.0 is installable');
my $current = sq('postgres', "SELECT default_version FROM pg_available_extensions WHERE name = 'vectorstore'");
isnt($current, '0.1.0', "default version is $current");
like(sq('postgres', "SELECT string_agg(path::text, ' ') FROM pg_extension_update_paths('vectorstore')"
	  . " WHERE source = '0.1.0' AND target = '$current'"), qr/0\.1\.0/, "an update path 0.1.0 -> $current exists");

# --- a 0.1.0 database with data
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
sq('upgraded', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
is(sq('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"), '0.1.0',
	'installed at 0.1.0');
my $vs = sq('upgraded', "SELECT id FROM vectorstore.vs_store_create(name => 'up')");
like($vs, qr/^vs_/, 'the new library serves a 0.1.0 database: vs_store_create');
sq('upgraded', q{
	CREATE TABLE pages (slug text PRIMARY KEY, body text);
	INSERT INTO pages SELECT 'p' || i, 'page number ' || i || ' about refunds' FROM generate_series(1, 20) i;
});
sq('upgraded', "SELECT vectorstore.vs_sync_create('pages', 'pages', '$vs', 'slug', 'body')");
sq('upgraded', "SELECT vectorstore.vs_sync_run('pages')");
sq('upgraded', "SELECT vectorstore.vs_enqueue_upload('$vs', 'extra.txt', 'an extra file about returns')");
my $counts_before = sq('upgraded',
	'SELECT (SELECT count(*) FROM vectorstore.job) || \'/\' || (SELECT count(*) FROM vectorstore.sync)'
	  . ' || \'/\' || (SELECT count(*) FROM vectorstore.sync_row)');
is($counts_before, '21/1/20', '0.1.0 database holds 21 jobs, 1 sync, 20 sync rows');
my $hits = sq('upgraded', "SELECT count(*) FROM vectorstore.vs_stores()");
cmp_ok($hits, '>=', 1, 'the new library serves a 0.1.0 database: vs_stores');

# --- every function whose arguments changed in 0.2.0, called with its 0.1.0
# argument list and 0.1.0 row types: the library reads a new argument only
# when PG_NARGS() has it (a 0.1.0 vs_search row has six columns, not eight)
{
	my $tour = sq('upgraded', qq{
		SET search_path = vectorstore;
		CREATE TEMP TABLE t AS SELECT id AS vs FROM vs_store_create(name => 'tour');
		CREATE TEMP TABLE f AS SELECT id FROM vs_file_upload('tour.txt', 'a tour of every function about refunds');
		SELECT (vs_store_file_add(vs, (SELECT id FROM f))).status IS NOT NULL FROM t;
		SELECT (vs_store_file_poll(vs, (SELECT id FROM f), poll_interval_ms => 10)).status FROM t;
		SELECT (vs_upload(vs, 'u.txt', 'uploaded and waited for', wait => true)).status FROM t;
		SELECT (vs_upload(vs, 'u.bin', '\x6869'::bytea)).status IS NOT NULL FROM t;
		CREATE TEMP TABLE b AS SELECT (vs_batch_create(vs, file_ids => ARRAY[(SELECT id FROM vs_file_upload('b.txt', 'batched'))])).id FROM t;
		SELECT (vs_batch_poll(t.vs, b.id, poll_interval_ms => 10)).status FROM t, b;
		SELECT (vs_batch_get(t.vs, b.id)).files_total FROM t, b;
		SELECT (vs_batch_cancel(t.vs, b.id)).status FROM t, b;
		SELECT count(*) FROM t, b, vs_batch_files(t.vs, b.id);
		SELECT count(*) FROM t, vs_upload_many(t.vs, ARRAY['m1.txt', 'm2.txt'], ARRAY['one', 'two']) u WHERE u.status = 'completed';
		SELECT count(*) FROM t, vs_upload_many(t.vs, ARRAY['m3.bin'], ARRAY['\x6869'::bytea], wait => false) u;
		SELECT (vs_store_get(vs)).name FROM t;
		SELECT (vs_store_update(vs, name => 'tour 2')).name FROM t;
		SELECT count(*) FROM t, vs_store_files(t.vs);
		SELECT (vs_store_file_get(vs, (SELECT id FROM f))).status FROM t;
		SELECT (vs_store_file_update(vs, (SELECT id FROM f), '{"k": "v"}')).attributes->>'k' FROM t;
		SELECT count(*) FROM t, vs_store_file_content(t.vs, (SELECT id FROM f));
		SELECT count(*) FROM t, vs_search(t.vs, 'refunds') r WHERE r.rank = 1;
		SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = 'vector_store_search_result'::regclass AND attnum > 0;
		SELECT count(*) FROM t, vs_search(t.vs, ARRAY['refunds', 'tour']);
		SELECT jsonb_typeof(vs_search_json(vs, 'refunds')->'data') FROM t;
		SELECT count(*) >= 1 FROM vs_files();
		SELECT length(vs_file_content((SELECT id FROM f)));
		SELECT (vs_file_get((SELECT id FROM f))).filename;
		SELECT vs_store_file_remove(vs, (SELECT id FROM f)) FROM t;
		SELECT vs_file_delete((SELECT id FROM f));
		SELECT vs_store_delete(vs) FROM t;
		SELECT vs_store_get(NULL) IS NULL;
	});
	is($tour, join("\n", 't', 'completed', 'completed', 't', 'completed', '1', 'completed', '1', '2', '1',
			'tour', 'tour 2', '7', 'completed', 'v', '1', '1', 'file_id,filename,score,content,attributes,rank',
			'1', 'array', 't', '38', 'tour.txt', 't', 't', 't', 't'),
		'the new library serves a 0.1.0 database: every changed function with its 0.1.0 arguments');
}

# --- update, and a fresh install to compare with
sq('upgraded', 'ALTER EXTENSION vectorstore UPDATE');
is(sq('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"), $current,
	"updated to $current");
sq('fresh', 'CREATE EXTENSION vectorstore');

my $describe = "$top/test/upgrade/describe.sql";
my @up = split /\n/, $node->safe_psql('upgraded', slurp_file($describe));
my @fr = split /\n/, $node->safe_psql('fresh', slurp_file($describe));
cmp_ok(scalar @fr, '>', 100, 'the description of a fresh install has ' . scalar(@fr) . ' lines');

# allowed differences: "-line" only in the updated database, "+line" only in a fresh one
my (%allowed_up, %allowed_fr);
for my $l (split /\n/, slurp_file("$top/test/upgrade/allowed-differences.txt"))
{
	next if $l =~ /^\s*(#|$)/;
	$allowed_up{substr($l, 1)} = 1 if $l =~ /^-/;
	$allowed_fr{substr($l, 1)} = 1 if $l =~ /^\+/;
}
my %in_up = map { $_ => 1 } @up;
my %in_fr = map { $_ => 1 } @fr;
my @only_up = grep { !$in_fr{$_} && !$allowed_up{$_} } @up;
my @only_fr = grep { !$in_up{$_} && !$allowed_fr{$_} } @fr;
is(scalar(@only_up) + scalar(@only_fr), 0, 'updated database matches a fresh install')
  or diag(join("\n", (map { "only after update: $_" } @only_up), (map { "only in fresh install: $_" } @only_fr)));

# --- data intact, and the worker carries on
is(sq('upgraded',
	'SELECT (SELECT count(*) FROM vectorstore.job) || \'/\' || (SELECT count(*) FROM vectorstore.sync)'
	  . ' || \'/\' || (SELECT count(*) FROM vectorstore.sync_row)'), $counts_before, 'data intact after the update');
ok($node->poll_query_until('upgraded',
	"SELECT count(*) = 21 FROM vectorstore.job WHERE status = 'completed'"), 'the worker completes every job after the update');
is(sq('upgraded', "SELECT count(*) FROM vectorstore.vs_search('$vs', 'refunds', max_num_results => 50)"), '20',
	'search finds the synced rows');
my $r = sq('upgraded', "SELECT new || '/' || changed || '/' || deleted || '/' || unchanged FROM vectorstore.vs_sync_run('pages')");
is($r, '0/0/0/20', 'a sync run after the update finds every row unchanged');

# --- privileges a database gave or took on the functions that are dropped
# and created again are carried over, and pg_dump still dumps them
$node->safe_psql('postgres', 'CREATE DATABASE granted');
$node->safe_psql('postgres', 'CREATE ROLE search_only');
sq('granted', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
sq('granted', q{
	REVOKE EXECUTE ON FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean) FROM PUBLIC;
	GRANT EXECUTE ON FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean) TO search_only WITH GRANT OPTION;
	REVOKE EXECUTE ON FUNCTION vectorstore.vs_store_delete(text) FROM PUBLIC;
});
sq('granted', 'ALTER EXTENSION vectorstore UPDATE');
is(sq('granted', q{
	SELECT string_agg(p.oid::regprocedure::text || ' ' || coalesce(regexp_replace(p.proacl::text, '=X\*?/[a-z_]+', '=X/owner', 'g'), 'default'), E'\n' ORDER BY 1)
	  FROM pg_proc p WHERE p.pronamespace = 'vectorstore'::regnamespace
	   AND p.proname IN ('vs_search', 'vs_store_delete', 'vs_store_get')}),
	join("\n",
		'vectorstore.vs_search(text,text,integer,jsonb,jsonb,boolean,jsonb) {' . sq('granted', 'SELECT current_user') . '=X/owner,search_only=X/owner}',
		'vectorstore.vs_search(text,text[],integer,jsonb,jsonb,boolean,jsonb) default',
		'vectorstore.vs_store_delete(text,boolean,jsonb) {' . sq('granted', 'SELECT current_user') . '=X/owner}',
		'vectorstore.vs_store_get(text,jsonb) default'),
	'privileges on changed functions are carried over to their new signatures, the others keep the default');
is(sq('granted', q{SELECT has_function_privilege('search_only', 'vectorstore.vs_search(text,text,integer,jsonb,jsonb,boolean,jsonb)', 'EXECUTE WITH GRANT OPTION')}),
	't', 'the grant option is carried over too');
is(sq('granted', q{SELECT count(*) FROM pg_init_privs WHERE classoid = 'pg_proc'::regclass
	AND objoid IN ('vectorstore.vs_search(text,text,integer,jsonb,jsonb,boolean,jsonb)'::regprocedure,
	               'vectorstore.vs_store_delete(text,boolean,jsonb)'::regprocedure)}),
	'0', 'carried privileges are the database\'s own, not the extension\'s initial ones');
{
	my ($stdout, $stderr);
	IPC::Run::run([ 'pg_dump', '--schema-only', '-d', $node->connstr('granted') ], '>', \$stdout, '2>', \$stderr);
	like($stdout, qr/REVOKE ALL ON FUNCTION vectorstore\.vs_search\(vector_store_id text, query text, max_num_results integer, filters jsonb, ranking_options jsonb, rewrite_query boolean, request_options jsonb\) FROM PUBLIC;/,
		'pg_dump dumps the carried REVOKE');
	like($stdout, qr/GRANT ALL ON FUNCTION vectorstore\.vs_search\(vector_store_id text, query text, [^)]*\) TO search_only WITH GRANT OPTION;/,
		'pg_dump dumps the carried GRANT');
}

# --- objects that use a function whose arguments change stop the update
# with a clear error, instead of being dropped or blocking it obscurely
$node->safe_psql('postgres', 'CREATE DATABASE viewed');
sq('viewed', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
sq('viewed', 'CREATE VIEW my_stores AS SELECT id, name FROM vectorstore.vs_stores()');
{
	my ($ret, $stdout, $stderr) = $node->psql('viewed', 'ALTER EXTENSION vectorstore UPDATE');
	isnt($ret, 0, 'the update of a database whose view uses vs_stores() fails');
	like($stderr, qr/cannot update vectorstore to 0\.2\.0 while other objects use functions whose arguments change/,
		'... saying why');
	like($stderr, qr/Used by: rule _RETURN on view public\.my_stores\./, '... naming the view');
	is(sq('viewed', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"), '0.1.0',
		'... and nothing changed');
	sq('viewed', 'DROP VIEW my_stores');
	sq('viewed', 'ALTER EXTENSION vectorstore UPDATE');
	is(sq('viewed', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"), $current,
		'without the view the update goes through');
}

# --- DROP EXTENSION: a fresh install leaves nothing behind
sq('fresh', 'DROP EXTENSION vectorstore');
is(sq('fresh', "SELECT count(*) FROM pg_namespace WHERE nspname = 'vectorstore'"), '0',
	'DROP EXTENSION removes schema vectorstore of a fresh install');

# ... nor anything else: the catalogs after CREATE EXTENSION, use (grants to a
# role, a job the worker sent) and DROP EXTENSION are as before it
my $catalog = q{SELECT string_agg(x, E'\n' ORDER BY x) FROM (
	SELECT 'schema ' || nspname AS x FROM pg_namespace
	UNION ALL SELECT 'relation ' || c.oid::regclass::text FROM pg_class c
	  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg_toast%'
	UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc
	UNION ALL SELECT 'type ' || t.oid::regtype::text FROM pg_type t
	  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname NOT LIKE 'pg_toast%'
	UNION ALL SELECT 'wrapper ' || fdwname FROM pg_foreign_data_wrapper
	UNION ALL SELECT 'server ' || srvname FROM pg_foreign_server
	UNION ALL SELECT 'user mappings ' || count(*) FROM pg_user_mapping
	UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger
	UNION ALL SELECT 'extension ' || extname FROM pg_extension
	UNION ALL SELECT 'role ' || rolname FROM pg_roles
	UNION ALL SELECT 'role setting ' || count(*) FROM pg_db_role_setting
	UNION ALL SELECT 'default acls ' || count(*) FROM pg_default_acl
	UNION ALL SELECT 'init privs ' || count(*) FROM pg_init_privs
	UNION ALL SELECT 'shared dependencies ' || count(*) FROM pg_shdepend
	  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	UNION ALL SELECT 'dependencies ' || count(*) FROM pg_depend
	UNION ALL SELECT 'descriptions ' || count(*) FROM pg_description
	UNION ALL SELECT 'triggers ' || count(*) FROM pg_trigger
	UNION ALL SELECT 'operators ' || count(*) FROM pg_operator
	UNION ALL SELECT 'casts ' || count(*) FROM pg_cast) c};
$node->safe_psql('postgres', 'CREATE DATABASE dropped; CREATE ROLE dropper LOGIN');
my $empty = sq('dropped', $catalog);
sq('dropped', "CREATE EXTENSION vectorstore;
	GRANT USAGE ON SCHEMA vectorstore TO dropper;
	REVOKE USAGE ON FOREIGN SERVER vectorstore FROM PUBLIC;
	GRANT USAGE ON FOREIGN SERVER vectorstore TO dropper;");
my $dvs = sq('dropped', "SELECT id FROM vectorstore.vs_store_create(name => 'dropped')");
sq('dropped', "SELECT vectorstore.vs_enqueue_upload('$dvs', 'd.txt', 'to be dropped')");
$node->poll_query_until('dropped', "SELECT status = 'completed' FROM vectorstore.job")
  or die 'the job in "dropped" was not sent';
isnt(sq('dropped', $catalog), $empty, 'CREATE EXTENSION and use change the catalogs');
sq('dropped', 'DROP EXTENSION vectorstore');
my @was = split /\n/, $empty;
my @now = split /\n/, sq('dropped', $catalog);
my %was = map { $_ => 1 } @was;
my %now = map { $_ => 1 } @now;
is(join("\n", (map { "left: $_" } grep { !$was{$_} } @now), (map { "gone: $_" } grep { !$now{$_} } @was)), '',
	'DROP EXTENSION of a fresh install leaves nothing: no schema, relation, function, type, server, wrapper, privilege or dependency');
my ($dret, $dout, $derr) = $node->psql('postgres', 'DROP ROLE dropper');
is($derr, '', 'the role granted the schema and the settings server can be dropped: nothing of it is left');

$node->stop;
$emu->stop;
done_testing();
