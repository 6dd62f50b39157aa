# Red team (server side): one credential's server that never answers stops
# the worker's work for every other credential of the database.
#
# alice's credential 'slow' points at a server that accepts a request and
# never answers (hostile.pl 'stall'); bob's job uses the settings credential
# (the emulator). The worker sends a step's units together and records them
# only when all are done, so bob's upload waits for alice's request to time
# out (vectorstore.timeout, 60 s by default; a job's request_options may
# raise it to an hour). bob's job should complete as if alice's server were
# not there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $h = VsTest::Hostile->start;
my $node = VsTest::new_node('stall', $emu, conf => [ VsWorkerTest::conf(timeout => '60s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
});
sq("SELECT vectorstore.vs_credential_set('slow', auth => 'none', base_url => '" . $h->url('stall') . "');
    SELECT vectorstore.vs_credential_grant('slow', 'alice');");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'bob')");

# alice's upload goes to her server, which never answers
as('alice', "SELECT vectorstore.vs_enqueue_upload('vs_alice', 'a.txt', 'alice')");
$node->poll_query_until('postgres',
	"SELECT status = 'uploading' FROM vectorstore.job WHERE owner = 'alice'")
  or die 'alice job not sent';

# bob's job, through another credential and another server
my $t0 = time;
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b.txt', 'bob content')");
my $done = 0;
while (time - $t0 < 20)
{
	$done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $bob") eq 't';
	last if $done;
	usleep(200_000);
}
ok($done, "bob's job completes while alice's server stalls (within 20 s)")
  or diag(sprintf("after %.1f s: %s", time - $t0,
	sq("SELECT string_agg(owner || ':' || status, ', ') FROM vectorstore.job")));

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
