# A poll of a file batch that fails costs the batch's jobs like any other
# failed request, by the one retry policy: a 429 a throttle, anything else an
# attempt; the jobs are attached again (attaching is idempotent) and fail
# with the server's error once they have used them up. Before, a failed poll
# only polled again: a server that answered every poll 500 (or 429) kept the
# jobs 'attaching' for ever, and their owner never saw an error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('pollfail', $emu,
	conf => [ VsWorkerTest::conf(max_attempts => 3),
		"vectorstore.worker_max_throttles = 3" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'polls')");

sub posts { return $emu->stats->{requests}{'POST /v1/vector_stores/{id}/file_batches'} // {}; }
sub total { my $h = shift; my $n = 0; $n += $_ for values %$h; return $n; }

# every poll of a batch answered 500 (a rule with rate 1 fires on every match)
$emu->fault({ kind => '500', rate => 1, route => '/file_batches/', method => 'GET' });
my $j = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'p.txt', 'polled 500')");
ok($node->poll_query_until('postgres',
	"SELECT status = 'failed' FROM vectorstore.job WHERE id = $j"),
	'a job whose batch is never polled successfully fails');
my ($att, $err) = split /\|/, sq("SELECT attempts, last_error FROM vectorstore.job WHERE id = $j");
is($att, 3, 'after worker_max_attempts tries');
like($err, qr/500/, 'with the server\'s error');
is(total(posts()), 3, 'each try attached the file again (one batch per try)');
$emu->clear_faults;

# every poll answered 429: throttles, not attempts
$emu->control('POST', '/_emulator/reset');
$vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'polls429')");
$emu->fault({ kind => '429', rate => 1, route => '/file_batches/', method => 'GET', retry_after => '0' });
my $k = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'q.txt', 'polled 429')");
ok($node->poll_query_until('postgres',
	"SELECT status = 'failed' FROM vectorstore.job WHERE id = $k"),
	'a job whose polls are all answered 429 fails');
my ($thr, $att2, $err2) = split /\|/, sq("SELECT throttles, attempts, last_error FROM vectorstore.job WHERE id = $k");
is($thr, 3, 'after worker_max_throttles 429s');
is($att2, 0, 'a 429 costs no attempt');
like($err2, qr/429/, 'with the 429 as its error');
$emu->clear_faults;

# and a poll that succeeds after a failed one completes the job
$emu->fault({ kind => '503', count => 1, route => '/file_batches/', method => 'GET' });
my $m = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'r.txt', 'one 503')");
VsWorkerTest::wait_idle($node);
is(sq("SELECT status || ' ' || attempts FROM vectorstore.job WHERE id = $m"), 'completed 1',
	'one failed poll costs one attempt; the job then completes');

$node->stop('immediate');
$emu->stop;
done_testing();
