# Red team round eleven: round ten's mend bounds an upload's extra_body form
# fields at 1 MB (VS_MAX_FORM_FIELDS_BYTES), but vs_form_fields counts a name
# only when it reaches a leaf. Walking an object, it checks that the next
# path fits in the room left and then builds it (psprintf "%s[%s]") -- and
# an empty object is no leaf: nothing is subtracted, yet its full path was
# built and stays allocated. One key of 900,000 characters over 2,500 empty
# objects ({"kkk...k": {"a1": {}, ..., "a2500": {}}}) passes every check
# (each path ~900 kB < 1 MB of room, room never shrinks) and makes 2,500
# names of 900 kB each: ~2.2 GB of the worker's memory for a job whose row
# is a few kB (the key compresses). A role with only the README's grants
# queues it; the request then goes out with no form fields at all.
# Found: worker peak RSS (VmHWM) 2,177 MB from one job whose row is 20,284
# bytes (pg_column_size); job still uploading/0 attempts. 8 such jobs in one
# claim would be ~17 GB; worker_batch_size (100) of them ~220 GB.
# What should have happened: every name built counts against the 1 MB
# (or empty objects make no names): the worker holds ~a few MB for it.
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
my $node = VsTest::new_node('formempty', $emu, conf => [ VsWorkerTest::conf(timeout => '30s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $h->url . "');");
sq("CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
as('mallory', "SET vectorstore.credential = 'h1';
  SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'x',
    request_options => jsonb_build_object('extra_body', jsonb_build_object(repeat('k', 900000),
      (SELECT jsonb_object_agg('a' || i, '{}'::jsonb) FROM generate_series(1, 2500) i))))");
diag('the row holds ' . sq("SELECT sum(pg_column_size(j.*)) FROM vectorstore.job j WHERE credential = 'h1'") . ' bytes');

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
cmp_ok($max / 1024, '<', 600, "one upload with empty-object form fields does not make the worker hold gigabytes (MB)");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
