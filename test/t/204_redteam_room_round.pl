# Red team round eight: a slow shared credential's room (1) is filled in the
# round's order, but the round is the step's: it starts after the (owner,
# credential) that came first in the step's previous claim, whichever
# credential that was. While the slow credential's one request is in flight,
# the claims for a busy other credential (a role named to sort last) come
# first, so when the slow credential has room again the round always starts
# from the top of the circle: the role named first on the slow credential
# takes every slot until its backlog is gone, and another role on it waits.
# Found: worse than that. While role zz (1,500 uploads on a fast credential
# e1) is busy, the slow credential h1 (one request held, room 1) is claimed
# for nothing at all: neither mallory's 40 jobs nor victim's one are
# claimed within 20 s (40 s in a longer run); without zz (199) the victim
# is claimed after 2 s.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('hangone.pl', HDELAY => 300);
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, args => [ '--latency', 'default=25' ]);
my $node = VsTest::new_node('roomoldest', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 2",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

my $eurl = $emu->url;
sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	SELECT vectorstore.vs_credential_set('e1', auth => 'none', base_url => '$eurl/v1');
});
VsWorkerTest::claim_log($node);
for my $r (qw(mallory victim zz))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    SELECT vectorstore.vs_credential_grant('h1', '$r'); SELECT vectorstore.vs_credential_grant('e1', '$r')");
}
# mallory: one upload the server holds (the credential turns slow), then a backlog
as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_m', 'hang.txt', 'HANG')");
usleep(2_500_000);
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_m', 'm' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 40) i");
# zz: a busy role on another (fast) credential, named to sort last
as('zz', "SET vectorstore.credential = 'e1'; SELECT count(vectorstore.vs_enqueue_upload('vs_z', 'z' || i || '.txt', 'z ' || i)) FROM generate_series(1, 1500) i");
usleep(500_000);
my $mark = sq("SELECT coalesce(max(n), 0) FROM public.claim_log");
as('victim', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_v', 'v.txt', 'victim')");
my $t0 = time;
my $vq = '';
while (time - $t0 < 20)
{
	$vq = sq("SELECT min(n) FROM public.claim_log WHERE owner = 'victim'");
	last if $vq ne '';
	usleep(200_000);
}
my $ahead = sq("SELECT count(*) FROM public.claim_log WHERE owner = 'mallory' AND n > $mark"
	. ($vq ne '' ? " AND n < $vq" : ''));
diag("victim queued after claim $mark; claimed at " . ($vq || 'never') . " (after "
	. sprintf('%.1f', time - $t0) . " s); mallory's jobs claimed in between: $ahead");
diag(sq("SELECT owner, status, count(*), min(last_error) FROM vectorstore.job GROUP BY 1,2 ORDER BY 1,2"));
diag(sq("SELECT owner, count(*), min(n), max(n) FROM public.claim_log GROUP BY 1"));
isnt($vq, '', "the other role's job on the slow credential is claimed within 20 s while a third role has a backlog on another credential");
cmp_ok($ahead, '<=', 4,
	"another role on a slow shared credential is claimed within a few of the backlog's jobs, not after all of them");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
