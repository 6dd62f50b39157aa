# Red team round seven: discards (files of failed or cancelled jobs) are
# claimed outside the credential's room (_job_claim_removals' discards CTE
# takes worker_batch_size of them, whatever _job_fair_pick's p_room says):
# on a slow credential, all but the room is withdrawn (outcome "unsent") at
# the next pump, and claimed again: round five's churn (193, 198) through
# the removals. A role's failed uploads on a shared slow credential are
# enough.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

# the server: holds a request whose body says HANG, answers others in 50 ms
# (POST /files with a file; anything else 400: every attach fails)
my $h = VsWorkerTest::Hostile->start('hangone.pl', HDELAY => 50);
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('discardchurn', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s', max_attempts => 1),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 8",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	CREATE ROLE mallory LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO mallory;
	SELECT vectorstore.vs_credential_grant('h1', 'mallory');
});
# the test's eyes: how many times a discard is claimed (its lease set)
VsWorkerTest::claim_count($node, "OLD.status IN ('failed', 'cancelled') AND NEW.status = OLD.status AND NEW.file_id IS NOT NULL
	AND NEW.not_before > pg_catalog.now() + interval '4 s'");

# one upload the server holds: the credential is slow (room: 8 less what it holds)
as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_x', 'hang.txt', 'HANG')");
usleep(2_500_000);
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_x', 'a' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 300) i");
# until no file is left to discard (or a minute)
my $t0 = time;
my $left;
while (time - $t0 < 60)
{
	$left = sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND filename <> 'hang.txt'
	            AND (file_id IS NOT NULL OR status NOT IN ('failed', 'cancelled'))");
	last if $left == 0;
	usleep(300_000);
}
my $sent = () = slurp_file($h->dir . '/requests') =~ m{^DELETE }mg;
my $claims = sq("SELECT last_value FROM public.claims");
diag("$claims discard claims for $sent DELETE requests sent; jobs not done with: $left");
cmp_ok($sent, '>', 0, 'discards were sent');
cmp_ok($claims, '<=', $sent + 150,
	'a discard on a slow credential is claimed about once for each time it is sent');

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
