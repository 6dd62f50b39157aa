# Red team round eleven: "a credential runs at most worker_concurrency
# transfers, held ones included" (vs_flights_start) bounds each credential,
# but every transfer also takes one of the worker's easy handles, and the
# pool has only 2 * VS_MAX_CONCURRENCY = 128 of them (transport.c
# vs_pool_take): when it is empty a transfer simply does not start. With
# worker_concurrency = 64 (its documented maximum), two credentials whose
# server accepts and never answers (sink.pl; a hostile server, or a network
# that stalls) hold 64 transfers each once they are "held" (held transfers
# take no slot, so their credential keeps starting more up to 64): all 128
# handles. Bob's upload on another credential, to a server that answers at
# once, is then not sent until the held requests time out (vectorstore.timeout
# 60 s here; worker_request_timeout 2 min at most) -- and they are replaced
# by the next of the 200 queued jobs.
# Found: 128 of mallory's jobs 'uploading', 128 connections held by the sink;
# bob's job claimed ('uploading') but not sent after 20.1 s. Control: the same
# test with worker_concurrency = 60 (120 handles held, 8 free) passes in 18 s.
# With the default worker_concurrency (8), 16 held credentials do the same.
# What should have happened: a credential whose server answers is never
# kept from starting by other credentials' held transfers; bob's upload
# completes within 20 s.
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
my $node = VsTest::new_node('poolexh', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'), 'vectorstore.worker_concurrency = 64' ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    CREATE ROLE mallory LOGIN; CREATE ROLE bob LOGIN;
    GRANT USAGE ON SCHEMA vectorstore TO mallory, bob;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => '" . $h->url . "');
    SELECT vectorstore.vs_credential_set('h2', auth => 'none', base_url => '" . $h->url . "');
    SELECT vectorstore.vs_credential_grant('h1', 'mallory');
    SELECT vectorstore.vs_credential_grant('h2', 'mallory');");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'bob')");

for my $c (qw(h1 h2))
{
	as('mallory', "SET vectorstore.credential = '$c';
	  SELECT count(vectorstore.vs_enqueue_upload('vs_m', 'm' || n || '.txt', 'x')) FROM generate_series(1, 100) n");
}
# let mallory's requests be sent and become held
my $t1 = time;
while (time - $t1 < 15)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND status = 'uploading'") >= 128
	  && time - $t1 > 6;
	usleep(200_000);
}
diag('mallory uploading: ' . sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND status = 'uploading'")
	. '; connections to the sink: ' . (-e $h->dir . '/requests' ? `wc -l < @{[$h->dir]}/requests` + 0 : 0));

my $t0 = time;
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b.txt', 'bob content')");
my $done = 0;
while (time - $t0 < 20)
{
	$done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $bob") eq 't';
	last if $done;
	usleep(200_000);
}
diag(sprintf("after %.1f s: bob's job %s", time - $t0, sq("SELECT status FROM vectorstore.job WHERE id = $bob")));
ok($done, "bob's upload completes within 20 s while two credentials' server holds their requests");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
