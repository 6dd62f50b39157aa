# Red team round eleven: the upload claim bounds what it takes per credential
# by the jobs' content (_job_claim_uploads, p_max_bytes), and round ten bounded
# extra_body's form fields at 1 MB per request; but request_options'
# extra_query (and extra_headers) values have no bound at all. A value of
# 40,000,000 '%' characters is ~0.5 MB in the job row (the jsonb compresses)
# and becomes, once percent-encoded into the URL (vs_query_add, then copied
# into the URL buffer), ~120 MB of query string, in buffers that double:
# several hundred MB per request, all built when the claim's flights are
# sent, for a job whose content is 1 byte and so counts as nothing. A role
# with only the README's grants queues 4 such jobs in one transaction.
# Found: worker peak RSS (VmHWM) 1,402 MB from 4 jobs whose rows hold 1.8 MB
# (pg_column_size); each then failed with 'No URL set' (libcurl refuses the
# URL after it was built). With worker_batch_size (100) jobs: tens of GB.
# What should have happened: a request's query and headers are bounded as
# its form fields are (or counted with its content against the
# per-credential bound); the worker holds ~tens of MB, not gigabytes.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
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
my $node = VsTest::new_node('queryamp', $emu, conf => [ VsWorkerTest::conf(timeout => '30s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $h->url . "');");
sq("CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
# Mended: the role's enqueue is refused at once (extra_query over 64 kB) ...
my ($rc, $out, $err) = $node->psql('postgres', "SET vectorstore.credential = 'h1';
  SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'x',
    request_options => jsonb_build_object('extra_query', jsonb_build_object('q', repeat('%', 40000000))))",
	extra_params => [ '-U', 'mallory' ]);
like($err, qr/extra_query holds \d+ bytes; at most 64 kB/, 'the enqueue is refused with the bound');
# ... and jobs with those options already queued (from before the bound:
# put in the table here) fail alone, without the worker building their URLs
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential, request_options)
    SELECT 'vs_m', 'm' || n || '.txt', 'x', 'mallory', 'h1',
           jsonb_build_object('extra_query', jsonb_build_object('q', repeat('%', 40000000)))
    FROM generate_series(1, 4) n");
diag('the 4 rows hold ' . sq("SELECT sum(pg_column_size(j.*)) FROM vectorstore.job j WHERE credential = 'h1'") . ' bytes');

my %peak;
my $t0 = time;
while (time - $t0 < 20)
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
	sq("SELECT string_agg(status || '/' || attempts || '/' || coalesce(left(last_error, 80), ''), ' ') FROM vectorstore.job WHERE credential = 'h1'")));
cmp_ok($max / 1024, '<', 600, "4 uploads of 1 byte each with long extra_query values do not make the worker hold gigabytes (MB)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
