# Red team round six: attaches gather per credential in a table of 64
# entries that the worker never empties (vq_gather, src/step.c). A
# credential first seen after 64 others has no entry, and
# vq_gather_waits() answers "still gathering" for a credential without an
# entry: its attaches are claimed only when none of its uploads sent less
# than a second ago is open. So on a database with more than 64 credentials
# (one per team), a role that keeps one upload in flight on a shared
# credential, one every 0.4 s to a server that takes 1.5 s per upload (a
# busy API), holds every other role's attaches there for as long as it goes
# on: round five's 194 again, without the one-second bound the design
# promises ("no upload waits more than a second for its attach").
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, args => [ '--latency', 'upload=1500' ]);
my $fast = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('gathermany', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

my $teams = $ENV{RT_TEAMS} // 64;
my $furl = $fast->url . '/v1';
sq(qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO bob, carol;
	SELECT vectorstore.vs_credential_set('team' || i, auth => 'none', base_url => '$furl')
	  FROM generate_series(1, $teams) i;
});
# 64 teams' credentials each upload once (the worker's first 64 seen)
sq("DO \$\$ BEGIN FOR i IN 1 .. $teams LOOP
      PERFORM pg_catalog.set_config('vectorstore.credential', 'team' || i, true);
      PERFORM vectorstore.vs_enqueue_upload('vs_t', 't.txt', 'team ' || i);
    END LOOP; END \$\$");
my $t0 = time;
while (time - $t0 < 60)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE file_id IS NOT NULL") == $teams;
	usleep(200_000);
}
is(sq("SELECT count(*) FROM vectorstore.job WHERE file_id IS NOT NULL"), $teams, "$teams teams' uploads recorded");

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
	"bob's job completes in a few seconds (upload 1.5 s, then attach), not held by carol's uploads on the 65th credential");

$node->stop('immediate');
$emu->stop;
$fast->stop;
done_testing();
