# Red team round seven: a slow shared credential's room, all owners
# together (_job_fair_pick's r CTE), is filled in the order (turn, id):
# the round (p_after_owner/p_after_cred) orders the claim but not which
# rows fit in the room. With room 1 at every claim (worker_concurrency 2,
# one request held), the n-th slot always goes to the owner whose turn-1
# row is oldest: a role with a backlog queued first takes every slot until
# its backlog is gone, and another role on the credential waits for all of
# it, not a pass or two.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('hangone.pl', HDELAY => 30);
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('roomoldest', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 2",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
});
VsWorkerTest::claim_log($node);
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    SELECT vectorstore.vs_credential_grant('h1', '$r')");
}
# mallory: one upload the server holds (the credential turns slow), then a backlog
as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_m', 'hang.txt', 'HANG')");
usleep(2_500_000);
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_m', 'm' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 120) i");
usleep(500_000);
my $mark = sq("SELECT coalesce(max(n), 0) FROM public.claim_log");
as('victim', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_v', 'v.txt', 'victim')");
my $t0 = time;
my $vq = '';
while (time - $t0 < 60)
{
	$vq = sq("SELECT min(n) FROM public.claim_log WHERE owner = 'victim'");
	last if $vq ne '';
	usleep(200_000);
}
my $ahead = sq("SELECT count(*) FROM public.claim_log WHERE owner = 'mallory' AND n > $mark"
	. ($vq ne '' ? " AND n < $vq" : ''));
diag("victim queued after claim $mark; claimed at " . ($vq || 'never') . " (after "
	. sprintf('%.1f', time - $t0) . " s); mallory's jobs claimed in between: $ahead");
cmp_ok($ahead, '<=', 3,
	"another role on a slow shared credential is claimed within a few of the backlog's jobs, not after all of them");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
