# Red team round five: a credential whose server holds one request and
# answers the others is "slow" for as long as it holds it, and is then
# claimed for a whole batch (worker_batch_size) each time one of its
# requests ends, only to have all but worker_concurrency of it withdrawn
# (outcome "unsent") at the next pump: every job is claimed and given back
# about ten times before it is sent (two row updates, its content read and
# its request built each time), for as long as the server holds that one
# request. The design says a slow credential "is not claimed for beyond
# worker_concurrency".
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
my $node = VsTest::new_node('churn', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	SELECT vectorstore.vs_credential_grant('h1', 'alice');
});
# the test's eyes: how many times jobs are claimed for upload
VsWorkerTest::claim_count($node);

# alice: one upload the server holds, then 600 it answers
as('alice', "SELECT vectorstore.vs_enqueue_upload('vs_x', 'hang.txt', 'HANG')");
usleep(300_000);
as('alice', "SELECT count(vectorstore.vs_enqueue_upload('vs_x', 'a' || i || '.txt', 'alice ' || i))
             FROM generate_series(1, 600) i");
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
