# Red team round twelve: in a database whose worker_state row has not been
# made yet, a role's first vs_enqueue_upload makes it (_worker_identify) in
# the role's own transaction. A role (mallory) that leaves that transaction
# open holds the uncommitted row; since round ten the worker and every other
# enqueue give up on it after 100 ms, but vs_worker_pause() (the
# superuser's emergency stop: _worker_set_paused, SELECT ... FOR UPDATE then
# INSERT) finds no committed row and inserts one, which waits on mallory's
# uncommitted row for as long as mallory likes (no lock_timeout there). The
# superuser cannot stop the worker, which meanwhile sends every other
# role's jobs.
# Found: vs_worker_pause() still waiting after 5 s (statement_timeout 5 s
# cancels it); the victim's job enqueued meanwhile is sent ('completed');
# worker_status shows no row (paused empty). Without a statement_timeout the
# pause waits until mallory's transaction ends.
# What should have happened: a superuser's pause takes effect at once,
# whatever a role's transaction holds (e.g. the row made at CREATE
# EXTENSION, or the pause not waiting on a row another session is making).
# Mended (round thirteen's work): the identity row is made by CREATE
# EXTENSION and no role's call writes or locks it, so the pause finds it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('pauseblocked', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    GRANT USAGE ON FOREIGN SERVER vectorstore TO $r;");
}
my $store = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'v')");

my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ], timeout => 120);
$bg->query_safe("BEGIN");
$bg->query_safe("SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'm')");

# the superuser pauses the worker (an emergency: a bad key, a runaway bill)
my $t0 = time;
my ($rc, $out, $err) = $node->psql('postgres', "SET statement_timeout = '5s'; SELECT vectorstore.vs_worker_pause()");
my $took = time - $t0;
diag(sprintf("vs_worker_pause(): rc %d after %.1f s: %s %s", $rc, $took, $out, $err));

# the victim's job, queued after the pause
my $j = as('victim', "SELECT vectorstore.vs_enqueue_upload('$store', 'v.txt', 'victim')");
$t0 = time;
my $st = '';
while (time - $t0 < 8)
{
	$st = sq("SELECT status FROM vectorstore.job WHERE id = $j");
	last if $st eq 'completed' || $st eq 'failed';
	usleep(200_000);
}
my $paused = sq("SELECT coalesce(paused::text, '-') FROM vectorstore.worker_status");
diag("after the pause: the victim's job is $st; worker_status paused: $paused");
$bg->query_safe("ROLLBACK");
$bg->quit;

is($rc, 0, 'vs_worker_pause() succeeds while a role keeps its first enqueue open');
cmp_ok($took, '<', 3, 'vs_worker_pause() returns within seconds (s)');
isnt($st, 'completed', 'nothing is sent after the superuser paused the worker');

$node->stop('immediate');
$emu->stop;
done_testing();
