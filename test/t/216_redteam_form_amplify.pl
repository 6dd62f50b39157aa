# Red team round ten: the upload step bounds what it holds per credential by
# the jobs' content (_job_claim_uploads' p_max_bytes, vq_held_bytes: 64 MB
# beside what is held), but an upload's request body is also made of its
# request_options' extra_body form fields, each nested key written out in
# full in bracket notation for every leaf (vs_form_fields). One key of 5,000
# characters over 20,000 empty leaves is ~35 kB in the job row (~140 kB as
# text) and becomes 20,000 multipart parts named "kkk...k[aN]": a body of
# ~100 MB, plus the same again in field names, per job -- with 1 byte of
# content, so the claim counts it as nothing. A role with only the README's
# grants queues 8 such jobs in one transaction (to a credential whose server
# never reads; any server does, as the bodies are all built when the run
# starts); one claim takes them all and the worker builds every body at once.
# Found: the worker's peak RSS (VmHWM) 2,092 MB from 8 jobs whose rows hold
# 572 kB in all (pg_column_size), all 8 claimed at once ('uploading'); 100 jobs (worker_batch_size) would be ~20 GB.
# What should have happened: what the worker holds for a credential's
# uploads is bounded by what their requests weigh (content and form fields),
# as for content: ~64 MB per credential, not ~2,800 times the rows' size.
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
my $node = VsTest::new_node('formamplify', $emu, conf => [ VsWorkerTest::conf(timeout => '30s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $h->url . "');");
sq("CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
as('mallory', "SET vectorstore.credential = 'h1';
  SELECT vectorstore.vs_enqueue_upload('vs_m', 'm' || n || '.txt', 'x',
    request_options => jsonb_build_object('extra_body', jsonb_build_object(repeat('k', 5000),
      (SELECT jsonb_object_agg('a' || i, '') FROM generate_series(1, 20000) i))))
  FROM generate_series(1, 8) n");
diag('the 8 rows hold ' . sq("SELECT sum(pg_column_size(j.*)) FROM vectorstore.job j WHERE credential = 'h1'") . ' bytes');

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
	sq("SELECT string_agg(status || '/' || attempts, ' ') FROM vectorstore.job WHERE credential = 'h1'")));
cmp_ok($max / 1024, '<', 600, "8 uploads of 1 byte each do not make the worker hold more than its bounds (MB)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
