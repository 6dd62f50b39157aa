# Red team round five: uploads of credentials whose servers answer just under
# 2 s (never "slow") keep the worker's bound on open units (4 x
# worker_batch_size) full, and the steps after the upload step (attach, poll,
# remove) are claimed for no one meanwhile.
#
# Each pass claims the upload step first. A credential is left out of an
# upload claim only once it has worker_batch_size uploads open, but a claim
# takes up to worker_batch_size jobs of each credential not left out; so
# four credentials with long queues fill the bound (400 units) with uploads,
# and each pass's upload claim fills it again as soon as anything is
# recorded: the attach, poll and remove steps find the bound full and claim
# nothing. Another role's attach, on another credential whose server answers
# at once, waits until alice's queues are nearly drained.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $lat = $ENV{RT_LATENCY} // 1900;
my $per = $ENV{RT_PER} // 250;
my $ncred = $ENV{RT_NCRED} // 4;
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $slow = VsTest::Emulator->start(processing_delay_ms => 10,
	args => [ '--latency', "default=$lat" ]);
my $node = VsTest::new_node('boundstarve', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
});
my @creds = map { "s$_" } 1 .. $ncred;
for my $c (@creds)
{
	sq("SELECT vectorstore.vs_credential_set('$c', auth => 'none', base_url => '" . $slow->url . "/v1');
	    SELECT vectorstore.vs_credential_grant('$c', 'alice');");
}
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'bob')");
my %avs;
for my $c (@creds)
{
	$avs{$c} = as('alice', "SET vectorstore.credential = '$c';
		SELECT id FROM vectorstore.vs_store_create(name => 'alice $c')");
}

# alice: a backlog of uploads through each of her credentials, whose server
# answers every request, in 1.9 s (a busy server: never kept over 2 s)
as('alice', join("\n", map {
	"SET vectorstore.credential = '$_';
	 SELECT count(vectorstore.vs_enqueue_upload('$avs{$_}', 'a' || i || '.txt', 'alice ' || i))
	 FROM generate_series(1, $per) i;" } @creds));
$node->poll_query_until('postgres',
	"SELECT count(*) >= 300 FROM vectorstore.job WHERE owner = 'alice' AND status = 'uploading'")
  or die 'alice\'s uploads were not claimed';

# bob: one upload through the settings credential, whose server answers at once
my $tb = time;
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b.txt', 'bob content')");
my ($st, $up) = ('', 0);
while (time - $tb < 30)
{
	$st = sq("SELECT status FROM vectorstore.job WHERE id = $bob");
	$up ||= time - $tb if $st ne 'queued' && $st ne 'uploading';
	last if $st eq 'completed';
	usleep(200_000);
}
my $left = sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status IN ('queued', 'uploading')");
diag(sprintf("bob's upload recorded after %.1f s; after %.1f s bob's job is %s; alice has %d uploads left",
	$up, time - $tb, $st, $left));
is($st, 'completed',
	"bob's job (settings credential, a server that answers at once) completes within 30 s while alice's credentials are busy");

$node->stop('immediate');
$slow->stop;
$emu->stop;
done_testing();
