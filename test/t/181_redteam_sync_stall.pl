# Red team (rt1): one ordinary role stalls the worker for every role with
# slow trigger-mode syncs. The worker computes up to 8 due syncs per loop,
# each for up to vectorstore.worker_sync_timeout, before any upload, attach
# or poll step; a sync that times out is due again 10 s later. mallory makes
# 8 trigger syncs whose content expression sleeps (vs_sync_create tries the
# query with LIMIT 0, so nothing sleeps then) and writes one row to each
# table: every loop of the worker then spends 8 x worker_sync_timeout on her
# syncs (8 minutes at the default of 1 min), and victim's one job, which
# takes about a second otherwise, waits that long at each of its steps.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('rt_stall', $emu, conf => [ VsWorkerTest::conf(naptime => '200ms'),
	"vectorstore.worker_sync_timeout = '3s'" ]);
$node->start;

sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	die "as $role: $err" if $ret != 0;
	return $out;
}

$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE victim LOGIN; CREATE ROLE mallory LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO victim, mallory;
	GRANT CREATE ON SCHEMA public TO mallory;
});

# without mallory: victim's job completes within a few seconds
my $vvs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'victim')");
my $t0 = time;
my $j0 = as('victim', "SELECT vectorstore.vs_enqueue_upload('$vvs', 'v0.txt', 'victim before')");
$node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $j0")
  or die 'baseline job did not complete';
my $base = time - $t0;
cmp_ok($base, '<', 10, sprintf('baseline: victim\'s job completes in %.1f s', $base));

# mallory's 8 slow trigger syncs, each with a changed table
my $mvs = as('mallory', "SELECT id FROM vectorstore.vs_store_create(name => 'mallory')");
as('mallory', qq{
	SELECT format('CREATE TABLE m%s (k int PRIMARY KEY, body text)', i) FROM generate_series(1, 8) i \\gexec
	SELECT vectorstore.vs_sync_create('slow' || i, ('m' || i)::regclass, '$mvs', 'k',
	                                  'pg_sleep(30)::text || t.body', "trigger" => true)
	FROM generate_series(1, 8) i;
	SELECT format('INSERT INTO m%s VALUES (1, ''x'')', i) FROM generate_series(1, 8) i \\gexec
});
sleep 2;    # the worker is in mallory's syncs

$t0 = time;
my $j1 = as('victim', "SELECT vectorstore.vs_enqueue_upload('$vvs', 'v1.txt', 'victim after')");
my $done = 0;
while (time - $t0 < 20)
{
	last if ($done = $node->safe_psql('postgres',
		"SELECT status = 'completed' FROM vectorstore.job WHERE id = $j1") eq 't');
	usleep(200_000);
}
ok($done, sprintf('victim\'s job completes within 20 s while mallory\'s syncs are slow (%.1f s waited)',
	time - $t0));

$node->stop('immediate');
$emu->stop;
done_testing();
