# Red team (server side): a credential's server that answers every request
# 429 rate_limit_exceeded with Retry-After: 0 keeps a worker job alive for
# ever. A 429 costs the job no attempt and the worker has no cap, so it sends
# the same upload again at once, pass after pass (about 25 requests a second
# here, one job row version each), and the job never fails. Functions called
# in SQL stop after 50 429s per request (test/t/045_fanout.pl); the worker
# should give up too, failing the job with the 429 as its error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $h = VsTest::Hostile->start;
my $node = VsTest::new_node('rl', $emu, conf => [ VsWorkerTest::conf() ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('rl', auth => 'none', base_url => '" . $h->url('ratelimited') . "');");
my $job = sq("SET vectorstore.credential = 'rl'; SELECT vectorstore.vs_enqueue_upload('vs_x', 'a.txt', 'a')");

my $t0 = time;
my $status = '';
while (time - $t0 < 40)
{
	$status = sq("SELECT status FROM vectorstore.job WHERE id = $job");
	last if $status eq 'failed';
	usleep(500_000);
}
my $sent = () = (slurp_file("$h->{dir}/requests") =~ /^ratelimited POST /mg);
is($status, 'failed', 'a job throttled for ever fails (within 40 s)')
  or diag(sq("SELECT status || ' attempts=' || attempts || ' ' || coalesce(last_error, '') FROM vectorstore.job WHERE id = $job"));
cmp_ok($sent, '<=', 60, "the worker sends a bounded number of requests for it (sent $sent)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
