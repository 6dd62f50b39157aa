# Red team (server side): one credential's server that never answers stops
# the worker's work for every other credential of the database.
#
# alice's credential 'slow' points at a server that accepts a request and
# never answers (hostile.pl 'stall'); bob's job uses the settings credential
# (the emulator). The worker sent a step's units together and recorded them
# only when all were done, so bob's upload waited for alice's request to time
# out (vectorstore.timeout, 60 s by default; a job's request_options could
# raise it to an hour). bob's job should complete as if alice's server were
# not there. Now requests are flights, recorded as each finishes (step.c).
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

# The same with a listing: the worker bounds every request
# (vectorstore.worker_request_timeout, here 3 s from now on), so carol's
# upload to a stalling server ends as an answer lost; the sweep then lists
# /files there, and that page stalls too. bob's next job completes while the
# listing is in flight.
sq("ALTER SYSTEM SET vectorstore.worker_request_timeout = '3s'; SELECT pg_reload_conf();");
sq("CREATE ROLE carol LOGIN; GRANT USAGE ON SCHEMA vectorstore TO carol;
    SELECT vectorstore.vs_credential_set('slow2', auth => 'none', base_url => '" . $h->url('stall') . "');
    SELECT vectorstore.vs_credential_grant('slow2', 'carol');");
sleep 1;    # the reload reaches the worker at its next pass
my $cj = as('carol', "SELECT vectorstore.vs_enqueue_upload('vs_carol', 'c.txt', 'carol')");
my $cut = 0;
$t0 = time;
while (time - $t0 < 20)
{
	last if ($cut = sq("SELECT attempts >= 1 AND last_error ~* 'timed? ?out' FROM vectorstore.job WHERE id = $cj") eq 't');
	usleep(200_000);
}
ok($cut, 'carol\'s request was cut at worker_request_timeout (3 s), not vectorstore.timeout (60 s)');
my $carol_listing = qr/^(\S+ \S+ UTC) \[\d+\] LOG:  vectorstore worker: could not list files for role "carol"/m;
my $listing = 0;
for (1 .. 200)
{
	last if ($listing = (slurp_file($node->logfile) =~ $carol_listing));
	usleep(100_000);
}
ok($listing, 'the sweep lists carol\'s stalling server (each page cut at 3 s)');
$t0 = time;
my $bob2 = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b2.txt', 'bob again')");
$done = 0;
while (time - $t0 < 20)
{
	$done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $bob2") eq 't';
	last if $done;
	usleep(200_000);
}
ok($done, "bob's next job completes while the sweep lists carol's stalling server")
  or diag(sprintf("after %.1f s: %s", time - $t0,
	sq("SELECT string_agg(owner || ':' || status, ', ') FROM vectorstore.job")));
# ... with one of carol's pages in flight when it completed: a listing that
# ended (cut at 3 s) at most 3 s after bob's job was recorded
my $overlap = 0;
for (1 .. 100)
{
	my @ends = (slurp_file($node->logfile) =~ /$carol_listing/g);
	$overlap = sq("SELECT coalesce(bool_or(j.finished_at BETWEEN f - interval '3 s' AND f), false)
		FROM vectorstore.job j, unnest('{" . join(',', map { qq("$_") } @ends) . "}'::timestamptz[]) f
		WHERE j.id = $bob2") eq 't';
	last if $overlap;
	usleep(100_000);
}
ok($overlap, 'a page to carol\'s server was in flight when bob\'s job completed');

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
