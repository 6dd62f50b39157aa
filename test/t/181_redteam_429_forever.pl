# Red team (server side): a credential's server that answers every request
# 429 rate_limit_exceeded with Retry-After: 0 kept a worker job alive for
# ever: a 429 costs the job no attempt and the worker had no cap, so it sent
# the same upload again at once, pass after pass (about 25 requests a second,
# one job row version each), and the job never failed.
#
# Now (the one retry policy, _job_record_failure, with step.c's hold):
#   - each 429 in a row from a credential doubles its hold, from a floor of
#     1 s, never below what the server asks: the job's row shows it
#     (not_before - updated_at after its k-th 429 is 2^(k-1) s, at most 60);
#   - a job fails with the 429 as its error after
#     vectorstore.worker_max_throttles of them (here 4): exactly that many
#     requests are sent for it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $max = 4;
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $h = VsTest::Hostile->start;
my $node = VsTest::new_node('rl', $emu, conf => [ VsWorkerTest::conf(),
	"vectorstore.worker_max_throttles = $max" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('rl', auth => 'none', base_url => '" . $h->url('ratelimited') . "');");
my $job = sq("SET vectorstore.credential = 'rl'; SELECT vectorstore.vs_enqueue_upload('vs_x', 'a.txt', 'a')");

# watch the job's row: after its k-th 429, how long is it held back?
my %hold;
my $t0 = time;
my $status = '';
while (time - $t0 < 120)
{
	my ($st, $k, $ms) = split /\|/, sq("SELECT status, throttles,
		round(extract(epoch FROM not_before - updated_at) * 1000) FROM vectorstore.job WHERE id = $job");
	$status = $st;
	last if $status eq 'failed';
	$hold{$k} = $ms if $k > 0 && $st eq 'queued';
	usleep(100_000);
}
is($status, 'failed', "a job throttled for ever fails after worker_max_throttles ($max) 429s");
my ($err, $throttles, $attempts) = split /\|/,
  sq("SELECT last_error, throttles, attempts FROM vectorstore.job WHERE id = $job");
like($err, qr/429|rate limit/i, 'its error is the 429');
is($throttles, $max, 'it counted each 429');
is($attempts, 0, 'a 429 costs no attempt');
my $sent = () = (slurp_file("$h->{dir}/requests") =~ /^ratelimited POST /mg);
is($sent, $max, "exactly worker_max_throttles requests were sent for it (sent $sent)");

# the hold doubles from the floor, whatever Retry-After: 0 says
ok(scalar(keys %hold) >= 2, 'the hold was seen after several 429s')
  or diag(explain \%hold);
for my $k (sort { $a <=> $b } keys %hold)
{
	my $want = 2**($k - 1) < 60 ? 2**($k - 1) : 60;    # doubling from 1 s, up to a minute
	cmp_ok($hold{$k}, '>=', 1000 * $want, "after 429 number $k the job is held $want s or more");
}

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
