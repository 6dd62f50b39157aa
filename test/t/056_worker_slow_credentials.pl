# Credentials whose servers stop answering hold only what they run.
#
# The worker claims a credential's work a batch at a time
# (worker_batch_size units open, started as slots free), which is what makes
# ingestion fast. When a credential's server stops answering (a request of
# it kept for more than 2 s), what it claimed beyond worker_concurrency and
# has not started is given back to the queue at no cost (outcome "unsent":
# no attempt, no error), and it is claimed for no more than that. Without
# that, five such credentials (5 x 100 units) fill the bound on what the
# worker keeps open (4 x worker_batch_size) and no other role's job is
# claimed until their requests time out (here 60 s).
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
my $node = VsTest::new_node('slowcreds', $emu,
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
my @creds = map { "s$_" } 1 .. 5;
for my $c (@creds)
{
	sq("SELECT vectorstore.vs_credential_set('$c', auth => 'none', base_url => '" . $h->url('stall') . "');
	    SELECT vectorstore.vs_credential_grant('$c', 'alice');");
}
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'bob')");

# alice: 150 uploads through each of her five credentials, all to servers
# that never answer; queued together, so that each credential is claimed for
# a full batch before any of its requests has been kept long
as('alice', join("\n", map {
	"SET vectorstore.credential = '$_';
	 SELECT count(vectorstore.vs_enqueue_upload('vs_$_', 'a' || i || '.txt', 'alice ' || i))
	 FROM generate_series(1, 150) i;" } @creds));

# the worker sends for every credential
$node->poll_query_until('postgres',
	"SELECT count(DISTINCT credential) = 5 FROM vectorstore.job WHERE owner = 'alice' AND status = 'uploading'")
  or die 'alice\'s uploads were not sent';
cmp_ok(sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status = 'uploading'"), '>=', 250,
	'at first, each of alice\'s credentials was claimed for a batch (the worker\'s bound on what is open is about full)');

# bob's job, through the settings credential and a server that answers,
# queued while alice's credentials hold 80 units each (the bound on what the
# worker keeps open, 400, is full)
my $tb = time;
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b.txt', 'bob content')");

# ... and each of alice's credentials, slow now, soon keeps no more than worker_concurrency
# jobs claimed: the rest are back in the queue, never sent
my $held = '';
my $t0 = time;
while (time - $t0 < 15)
{
	$held = sq("SELECT string_agg(credential || '=' || n, ' ' ORDER BY credential) FROM (
		SELECT credential, count(*) FILTER (WHERE status = 'uploading') AS n
		FROM vectorstore.job WHERE owner = 'alice' GROUP BY credential) c");
	last if $held =~ /^(s\d=[0-8]\b ?){5}$/;
	usleep(200_000);
}
like($held, qr/^(s\d=[0-8]\b ?){5}$/,
	"each slow credential keeps at most worker_concurrency uploads claimed ($held)");
is(sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status = 'queued'
       AND attempts = 0 AND throttles = 0 AND last_error IS NULL"),
	sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status = 'queued'"),
	'what was given back cost no attempt, no throttle and left no error');
cmp_ok(sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'alice' AND status = 'queued'"), '>=', 750 - 5 * 8,
	'the rest of alice\'s uploads are back in the queue');

# bob's job is claimed, sent and completed long before alice's requests time
# out (60 s): within 2 s her credentials are slow and give back their batches
my $done = 0;
while (time - $tb < 20)
{
	$done = sq("SELECT status = 'completed' FROM vectorstore.job WHERE id = $bob") eq 't';
	last if $done;
	usleep(200_000);
}
ok($done, "bob's job completes while five of alice's credentials stall")
  or diag(sprintf("after %.1f s: %s", time - $tb,
	sq("SELECT string_agg(credential || ':' || status || '=' || n, ', ') FROM (
	    SELECT coalesce(credential, '') AS credential, status, count(*) AS n
	    FROM vectorstore.job GROUP BY 1, 2) c")));

# ... and no slow credential took its batch back meanwhile
is(sq("SELECT count(*) FROM (SELECT credential FROM vectorstore.job WHERE owner = 'alice'
       GROUP BY credential HAVING count(*) FILTER (WHERE status = 'uploading') > 8) c"), '0',
	'slow credentials are not claimed for beyond worker_concurrency');

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
