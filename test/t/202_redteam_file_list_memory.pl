# Red team round seven: a poll's file list, read page by page as flights
# (po_then), keeps a copy of every file's id, status and error of every page
# (po_file_item, in the run's context) until the poll is recorded: each page
# is bounded by max_response_size (64 MB) while it is held, but the copies
# are not, and a poll reads up to nids / 100 + 2 pages. A server that
# answers each page with one file whose last_error message is 60 MB, and
# has_more, makes every batch it polls hold 120 MB after the responses are
# gone, and the worker polls up to 64 batches at once: the peak grows with
# the batches (1: 208 MB, 12: 632 MB, 30: 876 MB in 25 s; limited only by
# how fast the pages come), and again at every poll.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('bigfilelist.pl');
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('filelistmem', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE mallory LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO mallory;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	SELECT vectorstore.vs_credential_grant('h1', 'mallory');
});
# 24 batches: one upload to each of 24 stores (RT_N: how many; 1, the control, peaked at 208 MB)
my $nb = $ENV{RT_N} // 24;
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_' || i, 'm.txt', 'm ' || i))
               FROM generate_series(1, $nb) i");
my $peak = 0;
my $t0 = time;
my $pages = 0;
# until each batch could have had both its pages (or a minute)
while (time - $t0 < 60 && $pages < 2 * $nb)
{
	$pages = (() = $h->requests =~ m{/file_batches/[^/\s]+/files}g);
	my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' LIMIT 1");
	if ($pid && open(my $fh, '<', "/proc/$pid/status"))
	{
		while (<$fh>) { $peak = $1 if /^VmHWM:\s+(\d+)/ && $1 > $peak; }
		close $fh;
	}
	usleep(250_000);
}
$pages = (() = $h->requests =~ m{/file_batches/[^/\s]+/files}g);
diag(sprintf("the worker's peak: %.0f MB; %d pages of file lists served", $peak / 1024, $pages));
cmp_ok($pages, '>', 0, 'the worker read the file lists');
cmp_ok($peak / 1024, '<', 512,
	"what a server's file lists leave in the worker's memory is bounded (peak under 512 MB)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
