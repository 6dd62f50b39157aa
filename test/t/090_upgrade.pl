# Upgrading: a database created at 0.1.0 (the script as it shipped, kept in
# sql/versions/) with a store, a sync and queued jobs is served by the new
# library before ALTER EXTENSION ... UPDATE, then updated; every object is
# compared with a fresh install (test/upgrade/describe.sql), only the
# differences listed in test/upgrade/allowed-differences.txt are accepted,
# the data is intact and the worker carries on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
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

# --- DROP EXTENSION: a fresh install leaves nothing behind
sq('fresh', 'DROP EXTENSION vectorstore');
is(sq('fresh', "SELECT count(*) FROM pg_namespace WHERE nspname = 'vectorstore'"), '0',
	'DROP EXTENSION removes schema vectorstore of a fresh install');

$node->stop;
$emu->stop;
done_testing();
