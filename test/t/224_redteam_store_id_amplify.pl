# Red team round twelve: a job's vector_store_id is not bounded either
# (vs_enqueue_upload checks only that it is not empty; vs_path_try only
# refuses "/", "\\", "." and ".."), nor counted in any claim: the attach
# step percent-escapes it into the request path (a space becomes "%20",
# three bytes) for each job it claims. A role with only the README's grants
# queues 30 uploads of 1 byte each, each to a store id of 10 MB of spaces
# (compressed in the row to ~120 kB), through a credential at the emulator.
# They upload; then one attach claim takes all 30 and the worker builds
# their paths at once.
# Found: the worker's peak RSS (VmHWM) 2,726 MB, all 30 jobs 'attaching';
# the 30 rows hold 3.6 MB (pg_column_size). At worker_batch_size 100 and
# ids of 100 MB, the worker runs out of memory.
# What should have happened: an id is bounded (the API's ids are a few dozen
# bytes) and refused at enqueue, or what the worker holds for a claim is
# bounded by what its requests weigh: not ~2.7 GB from 30 one-byte uploads.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('storeamplify', $emu, conf => [ VsWorkerTest::conf(timeout => '30s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $emu->url . "/v1');");
sq("CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO mallory;
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');");
# Mended: the enqueue is refused (a store id over 256 bytes) ...
my ($rc, $out, $err) = $node->psql('postgres', "SET vectorstore.credential = 'h1';
  SELECT vectorstore.vs_enqueue_upload(repeat(' ', 10 * 1024 * 1024), 'm.txt', 'x')",
	extra_params => [ '-U', 'mallory' ]);
like($err, qr/vector_store_id is \d+ bytes; at most 256/, 'the enqueue is refused with the bound');
# ... and rows already queued with such ids (from before the bound) fail
# alone at their attach, their ids never encoded
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential)
    SELECT n || repeat(' ', 10 * 1024 * 1024), 'm.txt', 'x', 'mallory', 'h1' FROM generate_series(1, 30) n");
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
# (such rows can no longer be queued: the enqueue refuses them above. Rows
# from before the bound are still loaded whole by the claims, 30 x 10 MB
# twice; what is gone is escaping them into paths: 2.4 GB before, about
# 600 MB now)
cmp_ok($max / 1024, '<', 1000, "30 rows with 10 MB store ids do not make the worker escape them into paths (MB)");

$node->stop('immediate');
$emu->stop;
done_testing();
