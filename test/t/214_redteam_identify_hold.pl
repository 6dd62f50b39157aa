# Red team round ten: since round nine (211), _worker_identify and
# _worker_start give up after lock_timeout 100 ms on a worker_state row
# another transaction is making, and the worker "begins at a later pass".
# But the row is still made on a role's path: in a database whose
# worker_state row does not exist yet (the extension created while the
# server runs, nothing committed yet), a role that queues one upload in a
# transaction it leaves open holds the uncommitted row for as long as it
# likes. Every other role's enqueue now returns at once (it skips the
# insert), and its job is committed -- but the worker never begins: at each
# pass _worker_start finds the row being made, gives up and returns no
# token, so nothing of anyone's is ever sent while the transaction stays
# open (idle_in_transaction_session_timeout is 0 by default).
# Found: the victim's committed upload was still 'queued' (0 attempts)
# after 20 s; no worker_state row, the worker never ran a pass; it is sent
# only once mallory's transaction ends.
# What should have happened: one role's open transaction cannot stop every
# other role's work; the victim's upload completes in a second or two
# (e.g. the row made at CREATE EXTENSION, or the worker able to begin
# without waiting for a row another session is making).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('identifyhold', $emu, conf => [ VsWorkerTest::conf() ]);
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

# mallory: one enqueue in a transaction left open (makes the row, uncommitted)
my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ], timeout => 120);
$bg->query_safe("BEGIN");
$bg->query_safe("SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'm')");

# the victim's upload, committed
my $t0 = time;
my $j = as('victim', "SELECT vectorstore.vs_enqueue_upload('$store', 'v.txt', 'victim')");
diag(sprintf("the victim's enqueue returned after %.1f s (job %s)", time - $t0, $j));

$t0 = time;
my $st = '';
while (time - $t0 < 20)
{
	$st = sq("SELECT status FROM vectorstore.job WHERE id = $j");
	last if $st eq 'completed' || $st eq 'failed';
	usleep(200_000);
}
my $took = time - $t0;
diag(sprintf("after %.1f s with mallory's transaction open: the victim's job is %s (%s attempts); worker_state rows %s; worker backends %s",
	$took, $st, sq("SELECT attempts FROM vectorstore.job WHERE id = $j"),
	sq("SELECT count(*) FROM vectorstore.worker_state"),
	sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'")));
is($st, 'completed', "another role's committed upload is sent while a role keeps its first enqueue's transaction open");

# the victim's file was marked with the token the worker took without the
# row; when the role's transaction commits, its row gives the same token
# (the nonce is derived from the database's identity: _worker_nonce), so
# the sweep still knows the worker's files
my $fname = (grep { /_v\.txt$/ } map { $_->{filename} }
	@{ $emu->control('GET', '/v1/files?limit=100')->{data} })[0] // '';
$bg->query_safe("COMMIT");
$bg->quit;
my $token = sq("SELECT token FROM vectorstore.worker_state");
like($fname, qr/^vsjob-\Q$token\E-/, "the role's committed row has the token the worker marked files with");
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM vectorstore.job WHERE id = $j"),
	'(and once the transaction ends, it is sent)');
$node->stop('immediate');
$emu->stop;
done_testing();
