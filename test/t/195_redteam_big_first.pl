# Red team round six: an upload claim takes about 64 MB of content
# (VQ_MAX_CLAIM_BYTES): in turn order, a file larger than that alone, and
# nothing after it once the sum is over. Turns are ordered by (turn, id), so
# a role whose queue holds files just over 64 MB, queued before another
# role's, has its next big file first in every claim, alone: zed's small
# upload, queued after, waits until mallory's big files are all claimed
# (one per pass, as long as her credential has room: worker_batch_size).
# And every big file claimed is held in the worker's memory until its
# request ends: the claim's bound on bytes does not bound what is held.
# (The other role is "zed": its name sorts after the big files' owner, so that
# neither the order of ids nor of names puts it first: only the round does.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $nbig = $ENV{RT_NBIG} // 8;
my $mb = $ENV{RT_MB} // 65;
my $emu = VsTest::Emulator->start(processing_delay_ms => 10,
	args => [ '--max-body-bytes', '300000000', '--latency', 'upload=1800' ]);
my $node = VsTest::new_node('bigfirst', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 2",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE mallory LOGIN; CREATE ROLE zed LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO mallory, zed;
	SELECT vectorstore.vs_worker_pause();
});
# mallory: files of 65 MB (stored compressed: a few kB each), then zed's one
as('mallory', "SELECT vectorstore.vs_enqueue_upload('vs_m', 'big' || i || '.txt', pg_catalog.repeat('x', $mb * 1024 * 1024))
               FROM generate_series(1, $nbig) i");
my $zed = as('zed', "SELECT vectorstore.vs_enqueue_upload('vs_b', 'b.txt', 'zed content')");
sq("SELECT vectorstore.vs_worker_resume()");

my $t0 = time;
my ($ahead, $hwm) = ('never', 0);
while (time - $t0 < 60)
{
	my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' LIMIT 1");
	if ($pid && open(my $fh, '<', "/proc/$pid/status"))
	{
		while (<$fh>) { $hwm = $1 if /^VmHWM:\s+(\d+)/ && $1 > $hwm; }
		close $fh;
	}
	my ($st, $n) = split /\|/, sq("SELECT (SELECT status FROM vectorstore.job WHERE id = $zed),
	       (SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND status <> 'queued')");
	if ($st ne 'queued') { $ahead = $n; last; }
	usleep(100_000);
}
diag(sprintf("zed's upload claimed after %s of mallory's %d big files (%.1f s); worker peak RSS %d MB",
	$ahead, $nbig, time - $t0, $hwm / 1024));
ok($ahead ne 'never' && $ahead <= 2,
	"zed's one small upload is claimed in the first turns, not after the other role's big files");

$node->stop('immediate');
$emu->stop;
done_testing();
