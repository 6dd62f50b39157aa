# What the worker holds of files being uploaded is bounded per credential.
# A claim's content was bounded (64 MB), but not what the worker held: every
# file claimed stays in the worker's memory until its request ends, and a
# credential was claimed for again while its room (units, not bytes)
# allowed, so a server that holds uploads (slow, or hostile) kept
# worker_concurrency (or worker_batch_size) big files in the worker at once:
# 16 files of 65 MB took about 680 MB (red team round six). A claim now takes,
# per credential, what fits within 64 MB beside what the worker holds for it
# (_job_claim_uploads' p_held, vq_held_bytes), in the fair order up to the
# first that does not fit; a larger file goes alone once nothing is held.
#
# Here a server holds every upload whose body says HANG (hangone.pl): a
# role's 30 MB files on it are sent two at a time at most (60 MB), for as
# long as the server holds them; another credential's uploads go on.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('hangone.pl');
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('uploadbytes', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

my ($hurl, $eurl) = ($h->url, $emu->url . '/v1');
sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '$hurl');
	SELECT vectorstore.vs_credential_set('e1', auth => 'none', base_url => '$eurl');
});
my $store = sq("SET vectorstore.credential = 'e1'; SELECT id FROM vectorstore.vs_store_create(name => 'e')");
# six files of 30 MB for the holding server (stored compressed, a few kB
# each; the worker holds each whole while it is sent)
sq(q{SET vectorstore.credential = 'h1';
     SELECT count(vectorstore.vs_enqueue_upload('vs_h', 'big' || i || '.txt', 'HANG ' || repeat('x', 30 * 1024 * 1024)))
     FROM generate_series(1, 6) i});
my $t0 = time;
# what the holding server has received, and the worker's peak memory, while
# the other credential's uploads are queued and go through
usleep(3_000_000);
sq(qq{SET vectorstore.credential = 'e1';
      SELECT max(vectorstore.vs_enqueue_upload('$store', 'e' || i || '.txt', 'small ' || i))
      FROM generate_series(1, 20) i});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 20 FROM vectorstore.job WHERE credential = 'e1' AND status = 'completed'"),
	"another credential's uploads complete while the holding server keeps big files");
usleep(2_000_000);
my $received = () = $h->requests =~ m{^POST /v1/files}mg;
my $claimed = sq("SELECT count(*) FROM vectorstore.job WHERE credential = 'h1' AND status <> 'queued'");
my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' LIMIT 1");
my $hwm = 0;
if (open(my $fh, '<', "/proc/$pid/status"))
{
	while (<$fh>) { $hwm = $1 if /^VmHWM:\s+(\d+)/; }
	close $fh;
}
diag(sprintf("after %.1f s: the holding server received %d of the 6 big uploads, %d claimed; worker peak RSS %d MB",
	time - $t0, $received, $claimed, $hwm / 1024));
is($claimed, 2, 'two 30 MB files are claimed for the credential (64 MB held at most), not all six');
cmp_ok($received, '<=', 2, 'and no more were sent to its server');

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
