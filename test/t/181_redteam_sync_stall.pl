# Red team (rt1): one ordinary role stalled the worker for every role with
# slow trigger-mode syncs. The worker computed up to 8 due syncs per loop,
# each for up to vectorstore.worker_sync_timeout, before any upload, attach
# or poll step; a sync that timed out was due again 10 s later. mallory
# makes 8 trigger syncs whose content expression sleeps (vs_sync_create tries
# the query with LIMIT 0, so nothing sleeps then) and writes one row to each
# table: every loop of the worker then spent 8 x worker_sync_timeout on her
# syncs, and victim's one job waited that long at each of its steps.
#
# Now syncs are computed in a process of their own (the sync worker, started
# by the queue's worker when a sync is due), in turns between owners, and a
# sync that fails or times out backs off exponentially. This test checks:
#   - victim's job completes while mallory's syncs are slow;
#   - the queue's worker never computes a sync (pg_stat_activity), a sync
#     worker does, and the queue's heartbeat keeps ticking meanwhile;
#   - turns: carol's one sync, changed after mallory's eight, runs after at
#     most one of mallory's (in one FIFO it came after all eight);
#   - the back-off: each failure in a row doubles the wait (_sync_failed).
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

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	die "as $role: $err" if $ret != 0;
	return $out;
}

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE victim LOGIN; CREATE ROLE mallory LOGIN; CREATE ROLE carol LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO victim, mallory, carol;
	GRANT CREATE ON SCHEMA public TO mallory, carol;
});

# without mallory: victim's job completes within a few seconds
my $vvs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'victim')");
my $t0 = time;
my $j0 = as('victim', "SELECT vectorstore.vs_enqueue_upload('$vvs', 'v0.txt', 'victim before')");
$node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $j0")
  or die 'baseline job did not complete';
my $base = time - $t0;
cmp_ok($base, '<', 10, sprintf('baseline: victim\'s job completes in %.1f s', $base));

# paused while the changes are made, so that one pass of the sync worker sees
# all of them: mallory's 8 slow trigger syncs, then carol's one
sq("SELECT vectorstore.vs_worker_pause()");
my $mvs = as('mallory', "SELECT id FROM vectorstore.vs_store_create(name => 'mallory')");
as('mallory', qq{
	SELECT format('CREATE TABLE m%s (k int PRIMARY KEY, body text)', i) FROM generate_series(1, 8) i \\gexec
	SELECT vectorstore.vs_sync_create('slow' || i, ('m' || i)::regclass, '$mvs', 'k',
	                                  'pg_sleep(30)::text || t.body', "trigger" => true)
	FROM generate_series(1, 8) i;
	SELECT format('INSERT INTO m%s VALUES (1, ''x'')', i) FROM generate_series(1, 8) i \\gexec
});
my $cvs = as('carol', "SELECT id FROM vectorstore.vs_store_create(name => 'carol')");
as('carol', qq{
	CREATE TABLE c1 (k int PRIMARY KEY, body text);
	SELECT vectorstore.vs_sync_create('carol1', 'c1'::regclass, '$cvs', 'k', 'body', "trigger" => true);
	INSERT INTO c1 VALUES (1, 'carol');
});
sq("SELECT vectorstore.vs_worker_resume()");
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'vectorstore sync worker')")
  or die 'no sync worker';
my $beat0 = sq("SELECT heartbeat_at FROM vectorstore.worker_status");

$t0 = time;
my $j1 = as('victim', "SELECT vectorstore.vs_enqueue_upload('$vvs', 'v1.txt', 'victim after')");
my ($done, $queue_synced, $sync_seen, $carol_before) = (0, 0, 0, undef);
while (time - $t0 < 20)
{
	$queue_synced += sq("SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'vectorstore worker' AND query LIKE 'vectorstore: sync %'");
	$sync_seen += sq("SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'vectorstore sync worker' AND query LIKE 'vectorstore: sync %'");
	$carol_before //= sq("SELECT count(*) FILTER (WHERE errors > 0) FROM vectorstore.sync
		WHERE name LIKE 'slow%' HAVING (SELECT last_run_at IS NOT NULL FROM vectorstore.sync WHERE name = 'carol1')");
	$carol_before = undef if defined $carol_before && $carol_before eq '';
	last if ($done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $j1") eq 't')
	  && defined $carol_before;
	usleep(100_000);
}
ok($done, sprintf('victim\'s job completes within 20 s while mallory\'s syncs are slow (%.1f s waited)',
	time - $t0));
is($queue_synced, 0, 'the queue\'s worker never computed a sync');
ok($sync_seen > 0, 'the sync worker computed them');
is(sq("SELECT heartbeat_at > '$beat0' FROM vectorstore.worker_status"), 't',
	'the queue\'s heartbeat kept ticking');
ok(defined $carol_before && $carol_before <= 1,
	'carol\'s sync ran after at most one of mallory\'s (turns between owners)')
  or diag('mallory syncs failed before carol ran: ' . ($carol_before // 'carol never ran'));

# the back-off: each failure in a row doubles the wait, from 10 s
my @waits = map {
	sq("SELECT vectorstore._sync_failed('slow8', 'test')");
	sq("SELECT round(extract(epoch FROM retry_at - now())) FROM vectorstore.sync WHERE name = 'slow8'")
} 1 .. 3;
my $e = sq("SELECT errors FROM vectorstore.sync WHERE name = 'slow8'");
cmp_ok($waits[1], '>=', 2 * $waits[0] - 1, "a second failure in a row waits twice as long ($waits[0] s, $waits[1] s)");
cmp_ok($waits[2], '>=', 2 * $waits[1] - 1, "a third, twice as long again ($waits[2] s)");
ok($e >= 3, "failures in a row are counted ($e)");

$node->stop('immediate');
$emu->stop;
done_testing();
