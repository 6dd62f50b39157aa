# Red team round nine: in a database whose worker_state row does not exist
# yet (the extension created while the server runs, no work committed yet),
# the first vs_enqueue_upload inserts it (_worker_identify: INSERT ... ON
# CONFLICT). A role that queues one upload in a transaction it leaves open
# holds that uncommitted row: every other role's vs_enqueue_upload (and
# vs_sync_create) waits on it -- for as long as the transaction stays open
# (no lock_timeout for callers) -- and a worker starting meanwhile
# (_worker_start: SELECT ... FOR UPDATE, then INSERT) waits on it too.
# Found: the victim's enqueue waited until its statement_timeout (8 s),
# "while inserting index tuple (0,1) in relation worker_state" in
# _worker_identify. The window: from CREATE EXTENSION (while the server
# runs) until the first work commits or the worker first starts there; a
# role that connects first can keep it open as long as it likes.
# What should have happened: one role's open transaction never makes
# another role's enqueue wait; the identity is recorded without waiting on
# another session's uncommitted row (e.g. made by CREATE EXTENSION, or
# recorded by the worker or in a way that skips a row being inserted).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('identifyblock', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    GRANT USAGE ON FOREIGN SERVER vectorstore TO $r;");
}
diag('worker_state rows before: ' . sq("SELECT count(*) FROM vectorstore.worker_state"));

my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ], timeout => 120);
$bg->query_safe("BEGIN");
$bg->query_safe("SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'm')");

my $t0 = time;
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '8s'; SELECT vectorstore.vs_enqueue_upload('vs_v', 'v.txt', 'victim')",
	extra_params => [ '-U', 'victim' ]);
my $took = time - $t0;
diag(sprintf("the victim's enqueue: rc %d after %.1f s%s", $ret, $took, $err ? ": $err" : ''));
diag(sq("SELECT backend_type || ' ' || coalesce(wait_event_type, '') || ' ' || coalesce(wait_event, '') || ': ' || left(query, 60)
         FROM pg_stat_activity WHERE wait_event_type = 'Lock'"));
is($ret, 0, "another role's enqueue does not wait for a role's open transaction");
cmp_ok($took, '<', 4, 'it returns at once');

# the worker, starting meanwhile (launcher_naptime 1 s), does not wait on
# the row either: it tries for 100 ms (lock_timeout) at most once a second
# and begins at a later pass, once the row can be made (before: it waited
# in every sample)
my $waits = 0;
for (1 .. 20)
{
	$waits++ if sq("SELECT count(*) FROM pg_stat_activity
	                WHERE backend_type = 'vectorstore worker' AND wait_event_type = 'Lock'");
	usleep(100_000);
}
cmp_ok($waits, '<', 10, "the worker does not wait on the row a role is making ($waits of 20 samples)");
$bg->query_safe("ROLLBACK");
$bg->quit;
my $store = sq("SELECT id FROM vectorstore.vs_store_create(name => 'v')");
my $j = $node->safe_psql('postgres', "SELECT vectorstore.vs_enqueue_upload('$store', 'w.txt', 'after')",
	extra_params => [ '-U', 'victim' ]);
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $j"),
	'once the transaction ends, the worker starts and sends the work');
$node->stop('immediate');
$emu->stop;
done_testing();
