# Red team round nine: the removals' claim walks each delete's chain (the
# jobs it replaces, back over failed and cancelled ones, up to 1,000) in a
# recursive CTE, then for every delete of the claim scans that whole CTE
# for its deepest row (dels' LEFT JOIN LATERAL ... FROM chain c WHERE
# c.root = j.id ORDER BY c.depth DESC LIMIT 1): deletes x (deletes x depth).
# An ordinary role builds it with its own sync: 100 rows whose first upload
# is still processing at the server (a big file, here a server that takes
# 10 min), then 600 runs of vs_sync_run, each cancelling the 'replace' jobs
# it queued (one transaction, ~20 s), then deletes the rows. Its 100
# deletes wait for the first upload, so they are picked, walked and put
# back a second later, again and again: every removal claim costs the
# worker about a second of CPU, every second, for as long as the upload
# processes.
# What should have happened: a claim's cost is linear in what it reads; a
# role's waiting deletes cost the worker a few milliseconds a second, and
# other roles' work goes at its normal pace.
# Mended: a new job replaces what a failed or cancelled one replaced (the
# sync's enqueues), so cancelled runs do not lengthen a row's chain; the
# claim finds each delete's deepest link with one sort of the walk, not a
# scan of it per delete. Checked by what one claim reads and by the
# longest chain, not by a time.
# Found (600 runs, 60,000 cancelled jobs, 23 s to make): one removal claim
# 954 ms (1,233 ms with 900 runs); the worker was in a removal claim in 49
# of 50 samples over 10 s; another role's 100 uploads took 2.3 s instead of
# 0.1 s (6.9 s with 900 runs).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $depth = $ENV{RT9_DEPTH} // 600;
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $slow = VsTest::Emulator->start(processing_delay_ms => 600000);
my $node = VsTest::new_node('deletechain', $emu,
	conf => [ VsWorkerTest::conf(timeout => '10s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

my $surl = $slow->url;
sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('hm', auth => 'none', base_url => '$surl/v1');");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    GRANT USAGE ON FOREIGN SERVER vectorstore TO $r;");
}
sq("SELECT vectorstore.vs_credential_grant('hm', 'mallory');
    CREATE TABLE public.m (id int PRIMARY KEY, body text); ALTER TABLE public.m OWNER TO mallory;
    INSERT INTO public.m SELECT i, 'row ' || i FROM generate_series(1, 100) i;");
my $vvs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'v')");
my $mvs = as('mallory', "SET vectorstore.credential = 'hm'; SELECT id FROM vectorstore.vs_store_create(name => 'm')");
as('mallory', "SET vectorstore.credential = 'hm';
               SELECT vectorstore.vs_sync_create('ms', 'public.m', '$mvs', 'id', 'body');
               SELECT vectorstore.vs_sync_run('ms');");
$node->poll_query_until('postgres', "SELECT count(*) = 100 FROM vectorstore.job WHERE owner = 'mallory' AND status = 'attaching' AND batch_id IS NOT NULL")
  or die 'mallory\'s uploads did not reach their batch';

# the victim's pace before
sub victim_batch
{
	my ($tag) = @_;
	my $lo = sq("SELECT coalesce(max(id), 0) FROM vectorstore.job");
	as('victim', "SELECT count(vectorstore.vs_enqueue_upload('$vvs', '$tag' || i || '.txt', '$tag ' || i)) FROM generate_series(1, 100) i");
	my $t0 = time;
	while (time - $t0 < 60)
	{
		last if sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'victim' AND id > $lo AND status = 'completed'") == 100;
		usleep(100_000);
	}
	return time - $t0;
}
my $before = victim_batch('a');

# mallory's chains: every run cancels the replace jobs it queued, in one transaction
my $t1 = time;
as('mallory', "UPDATE public.m SET body = body || '.';
DO \$\$ DECLARE v bigint; w bigint; BEGIN
  SELECT coalesce(max(id), 0) INTO v FROM vectorstore.jobs;
  FOR i IN 1..$depth LOOP
    PERFORM vectorstore.vs_sync_run('ms');
    SELECT max(id) INTO w FROM vectorstore.jobs WHERE id > v;
    PERFORM vectorstore.vs_job_cancel(g) FROM generate_series(v + 1, w) g;
    v := w;
  END LOOP;
END \$\$;
DELETE FROM public.m; SELECT vectorstore.vs_sync_run('ms');");
diag(sprintf("mallory's %d cancelled replace jobs and 100 deletes made in %.1f s",
	sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND status = 'cancelled'"), time - $t1));
usleep(1_000_000);

# how the worker spends its time now
my %seen;
for (1 .. 50)
{
	$seen{ sq("SELECT state || ': ' || query FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'") }++;
	usleep(150_000);
}
my $inclaim = $seen{'active: vectorstore: claim removals'} // 0;
diag(join('; ', map { "$_ x$seen{$_}" } sort keys %seen));
my $after = victim_batch('b');
diag(sprintf("the victim's 100 uploads completed in %.1f s before, %.1f s with mallory's deletes waiting", $before, $after));

# one claim, measured alone (the worker paused)
sq("SELECT vectorstore.vs_worker_pause()");
usleep(1_500_000);
my $ms = sq("BEGIN; UPDATE vectorstore.job SET not_before = now() - interval '1 s' WHERE kind = 'delete';
             SELECT set_config('rt9.t', clock_timestamp()::text, true);
             SELECT pg_stat_get_xact_tuples_returned('vectorstore.job'::regclass)
                    + (SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) FROM pg_index i
                       WHERE i.indrelid = 'vectorstore.job'::regclass);
             SELECT count(*) FROM vectorstore._job_claim_removals('{}', 240000, 100, '{}', '{}', NULL, NULL, '{}', '{}', '{}');
             SELECT round(extract(epoch FROM clock_timestamp() - current_setting('rt9.t')::timestamptz) * 1000),
                    pg_stat_get_xact_tuples_returned('vectorstore.job'::regclass)
                    + (SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) FROM pg_index i
                       WHERE i.indrelid = 'vectorstore.job'::regclass);
             ROLLBACK;");
my @l = split /\n/, $ms;
my $read0 = $l[-3];
my $read;
($ms, $read) = split /\|/, $l[-1];
$read -= $read0;
# the longest chain a removal walks from one of mallory's deletes: over the
# failed and cancelled jobs it replaces
my $longest = sq("WITH RECURSIVE ch AS (
	SELECT j.id AS root, j.replaces_job, 0 AS depth FROM vectorstore.job j WHERE j.owner = 'mallory' AND j.kind = 'delete'
	UNION ALL
	SELECT ch.root, t.replaces_job, ch.depth + 1 FROM ch JOIN vectorstore.job t ON t.id = ch.replaces_job
	WHERE t.status IN ('failed', 'cancelled') AND ch.depth < 5000)
	SELECT max(depth) FROM ch");
diag("one removal claim with mallory's 100 waiting deletes: $ms ms, $read rows read; longest chain $longest; the worker was in it in $inclaim of 50 samples");

# (mechanisms, not times: what a claim reads, and how long a chain grows)
cmp_ok($longest, '<=', 2, "a row's cancelled runs do not lengthen the chain its delete walks");
cmp_ok($read, '<', 5000, "a removal claim over 100 waiting deletes reads a few rows each, not their whole history");
cmp_ok($inclaim, '<=', 10, "a role's waiting deletes do not keep the worker in its removal claims");

$node->stop('immediate');
$emu->stop;
$slow->stop;
done_testing();
