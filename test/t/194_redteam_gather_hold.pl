# Red team round five: attaches gather. While a credential has uploads sent
# less than a second ago still open, its attaches are claimed only once 100
# of its uploads have been recorded since its last attach claim. A role that
# keeps one upload in flight on a shared credential (the settings), one
# every 0.4 s to a server that takes 1.5 s per upload (no fault: a
# busy API), holds every other role's attaches on that credential until it
# has uploaded 100 files (or a gap opens between two of its uploads).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, args => [ '--latency', 'upload=1500' ]);
my $node = VsTest::new_node('gatherhold', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO bob, carol;
});
my $bvs = as('bob', "SELECT id FROM vectorstore.vs_store_create(name => 'bob')");
my $cvs = as('carol', "SELECT id FROM vectorstore.vs_store_create(name => 'carol')");

# carol: an upload every half second, through the settings credential
for my $i (1 .. 4) { as('carol', "SELECT vectorstore.vs_enqueue_upload('$cvs', 'c$i.txt', 'carol $i')"); usleep(500_000); }
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$bvs', 'b.txt', 'bob content')");
my $tb = time;
my ($st, $up, $i) = ('', 0, 4);
while (time - $tb < 25)
{
	$i++;
	as('carol', "SELECT vectorstore.vs_enqueue_upload('$cvs', 'c$i.txt', 'carol $i')");
	$st = sq("SELECT status FROM vectorstore.job WHERE id = $bob");
	$up ||= time - $tb if $st eq 'uploaded';
	last if $st eq 'completed';
	usleep(400_000);
}
my $took = time - $tb;
diag(sprintf("bob's upload recorded after %.1f s; after %.1f s his job is %s; carol enqueued %d uploads", $up, time - $tb, $st, $i));
ok($st eq 'completed' && $took < 8,
	"bob's job completes in a few seconds (upload 1.5 s, then attach), not held by carol's uploads in flight on the same credential");

$node->stop('immediate');
$emu->stop;
done_testing();
