# Red team round seven: removals are claimed with the files of failed or
# cancelled jobs ("discards") first, as turn 0, oldest first across every
# owner, and outside the credential's room (_job_claim_removals' discards
# CTE), not in turns like the rest (_job_fair_pick). A role that fails or
# cancels many uploads fills every removal claim with its own discards; a
# file of another role's failed job is removed only after all of them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, args => [ '--latency', 'delete=150' ]);
my $node = VsTest::new_node('discardfirst', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s', max_attempts => 1),
		"vectorstore.worker_batch_size = 10" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', 'sk-h1', '" . $emu->url . "/v1');
    CREATE TABLE public.rm_log (n bigserial, owner name, at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION public.log_rm() RETURNS trigger LANGUAGE plpgsql AS
      \$\$ BEGIN INSERT INTO public.rm_log(owner) VALUES (NEW.owner); RETURN NULL; END \$\$;
    CREATE TRIGGER log_rm AFTER UPDATE ON vectorstore.job FOR EACH ROW
      WHEN (OLD.file_id IS NOT NULL AND NEW.file_id IS NULL AND NEW.status IN ('failed', 'cancelled'))
      EXECUTE FUNCTION public.log_rm();");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    SELECT vectorstore.vs_credential_grant('h1', '$r')");
}
# mallory: uploads whose attach fails (no such store): each leaves a file to discard
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_gone', 'm' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 400) i");
my $t0 = time;
while (time - $t0 < 60)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND status = 'failed'") >= 200;
	usleep(100_000);
}
# the victim: one upload that fails the same way; its file is to be removed too
as('victim', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_gone2', 'v.txt', 'victim')");
$t0 = time;
while (time - $t0 < 30)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'victim' AND status = 'failed'") > 0;
	usleep(50_000);
}
# from when the victim's file is to be removed
my $mark = sq("SELECT coalesce(max(n), 0) FROM public.rm_log");
my $pending = sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND file_id IS NOT NULL");
diag("the victim's job failed after " . sprintf('%.1f', time - $t0) . " s; mallory's files to remove then: $pending");
$t0 = time;
my $vq = '';
while (time - $t0 < 90)
{
	$vq = sq("SELECT min(n) FROM public.rm_log WHERE owner = 'victim'");
	last if $vq ne '';
	usleep(200_000);
}
my $ahead = sq("SELECT count(*) FROM public.rm_log WHERE owner = 'mallory' AND n > $mark"
	. ($vq ne '' ? " AND n < $vq" : ''));
my $left = sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND file_id IS NOT NULL");
diag("victim's file to remove after removal $mark; its file removed at " . ($vq || 'never') . " (after "
	. sprintf('%.1f', time - $t0) . " s); mallory's files removed in between: $ahead; mallory's left: $left");
cmp_ok($ahead, '<=', 40,
	"another role's file is removed within a pass or two of the backlog's removals, not after all of them");

$node->stop('immediate');
$emu->stop;
done_testing();
