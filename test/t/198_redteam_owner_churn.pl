# Red team round six: round five's churn (193) again, through owners. A
# slow credential's room (its slots less what it holds) is computed per
# credential, but _job_fair_pick applies it to each (owner, credential):
# with ten roles queueing on a credential whose server holds one request,
# each claim takes the room ten times over and all but the room is
# withdrawn (outcome "unsent") at the next pump, every time one of its
# requests ends: each job is claimed and given back many times before it
# is sent.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

# the server: holds a request whose body says HANG, answers others in 50 ms
my $h = VsWorkerTest::Hostile->start('hangone.pl', HDELAY => 50);
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('ownerchurn', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SELECT vectorstore.vs_credential_grant('h1', 'alice');
});
# the test's eyes: how many times jobs are claimed for upload
VsWorkerTest::claim_count($node);

for my $r (1 .. 10)
{
	sq("CREATE ROLE r$r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO r$r;
	    SELECT vectorstore.vs_credential_grant('h1', 'r$r')");
}
# alice: one upload the server holds; then ten roles queue 60 uploads each
as('alice', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_x', 'hang.txt', 'HANG')");
usleep(2_500_000);
as("r$_", "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_x', 'a' || i || '.txt', 'r$_ ' || i))
             FROM generate_series(1, 60) i") for 1 .. 10;
# until the server has had every upload (or a minute)
my $sent = 0;
my $t0 = time;
while (time - $t0 < 60)
{
	$sent = (() = $h->requests =~ m{^POST /v1/files$}mg);
	last if $sent >= 601;
	usleep(200_000);
}
my $claims = sq("SELECT last_value FROM public.claims");
diag("$claims claims for $sent uploads sent");
cmp_ok($claims, '<=', $sent + 150,
	'a job of a slow credential is claimed about once for each time it is sent (the first batch given back once at most)');

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
