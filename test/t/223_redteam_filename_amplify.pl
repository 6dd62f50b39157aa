# Red team round twelve: the upload step bounds what it holds per credential
# by the jobs' content (_job_claim_uploads' p_max_bytes: 64 MB per claim,
# beside what is held; octet_length(content) only), and round eleven bounded
# request_options' form fields. But a job's filename is not bounded at all
# (vs_enqueue_upload checks only that it is not empty) and is not counted:
# it goes into the multipart part's filename ("vsjob-<token>-<id>-<secret>_"
# followed by it), copied several times on the way (the claim's row, the
# unit's copy, psprintf, vq_utf8, the body). A filename of 10 MB of one
# letter is compressed in the row to a few hundred bytes. A role with only
# the README's grants queues 30 such jobs with 1 byte of content each (to a
# credential whose server never answers); one claim takes 8 of them at once
# (the per-credential room) and the worker builds every body at once.
# Found: the worker's peak RSS (VmHWM) 1,238 MB with 8 jobs 'uploading'
# (80 MB of filenames, 8 bytes of content); the 30 rows hold 3.6 MB in all
# (pg_column_size). Longer names (up to ~1 GB each) or more credentials
# multiply it: the worker runs out of memory.
# What should have happened: a filename is bounded (as the API bounds it,
# a few hundred bytes), or counted in the claim's bytes, so the worker holds
# ~64 MB per credential, not ~100,000 times the rows' size.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('sink.pl');
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('nameamplify', $emu, conf => [ VsWorkerTest::conf(timeout => '30s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $h->url . "');");
sq("CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
# Mended: the enqueue is refused (a filename over 1,024 bytes) ...
my ($rc, $out, $err) = $node->psql('postgres', "SET vectorstore.credential = 'h1';
  SELECT vectorstore.vs_enqueue_upload('vs_m', repeat('a', 10 * 1024 * 1024), 'x')",
	extra_params => [ '-U', 'mallory' ]);
like($err, qr/filename is \d+ bytes; at most 1024/, 'the enqueue is refused with the bound');
# ... and rows already queued with such names (from before the bound, or a
# sync's key) count their names in the claim's bytes and fail alone
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential)
    SELECT 'vs_m', n || repeat('a', 10 * 1024 * 1024), 'x', 'mallory', 'h1' FROM generate_series(1, 30) n");
diag('the 30 rows hold ' . sq("SELECT sum(pg_column_size(j.*)) FROM vectorstore.job j WHERE credential = 'h1'") . ' bytes');

my %peak;
my $t0 = time;
while (time - $t0 < 25)
{
	for my $pid (split /\n/, sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'"))
	{
		next unless open(my $f, '<', "/proc/$pid/status");
		local $/;
		my $s = <$f>;
		close $f;
		my ($hwm) = $s =~ /VmHWM:\s+(\d+)/;
		$peak{$pid} = $hwm if $hwm && (!$peak{$pid} || $hwm > $peak{$pid});
	}
	last if %peak && sq("SELECT count(*) FROM vectorstore.job WHERE credential = 'h1' AND status = 'queued'") == 0
	  && time - $t0 > 8;
	usleep(100_000);
}
my ($max) = sort { $b <=> $a } values %peak;
$max //= 0;
diag(sprintf("the worker's peak RSS (VmHWM): %d MB; jobs: %s", $max / 1024,
	sq("SELECT string_agg(status || '/' || attempts, ' ') FROM vectorstore.job WHERE credential = 'h1'")));
cmp_ok($max / 1024, '<', 400, "30 uploads of 1 byte each do not make the worker hold more than its bounds (MB)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
