# Red team round thirteen: every claim ends with _worker_claim_guard(), and
# every heartbeat asks _worker_jobs_held(), which tests "a job whose origin
# is not ours" with three EXISTS probes (origin < own, origin > own, origin
# IS NULL) meant to be index probes of job_origin_idx. They are plpgsql, so
# after five calls in a session PostgreSQL keeps a generic plan, planned
# without knowing own: "origin < $1" is then guessed to match a third of
# the table, and for an EXISTS a sequential scan that stops at the first
# match looks cheapest. No job matches (every job is this database's), so
# each of the two probes reads the whole job table: every claim and every
# heartbeat of the (long-lived) worker reads the job table twice, end to
# end. Finished jobs stay for vectorstore.job_retention, so a busy database
# (or one role enqueueing many small uploads) holds 100k+ rows.
# Found (200k finished jobs, ANALYZEd): calls 1-5 of _worker_claim_guard()
# take ~0.3 ms, calls 6+ take 55-110 ms; auto_explain shows "Seq Scan on
# job" for both range probes (rows=0 after reading all 200k). In one
# transaction 10 calls read 2,000,000 tuples of vectorstore.job
# (pg_stat_xact_user_tables.seq_tup_read: calls 6-10, two full scans each);
# the worker, sending 20 small uploads (1.5 s), read 13,201,320 job tuples
# by sequential scan (66 full scans of the table).
# Mended: the probes are the least and greatest origin and an IS NULL probe
# (no parameter, so any plan is three index probes); job rows read are
# checked below, times only shown.
# What should have happened: the guard costs a few index probes whatever
# the table's size and however often it is called (e.g. a custom plan /
# EXECUTE, the probes written as "origin IS DISTINCT FROM own" against an
# index the planner must use, or a count of foreign jobs kept elsewhere).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 5);
my $node = VsTest::new_node('guardscan', $emu, conf => [ VsWorkerTest::conf(), 'track_counts = on' ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

my $n = 200000;
sq("CREATE EXTENSION vectorstore;
    CREATE ROLE alice LOGIN; GRANT USAGE ON SCHEMA vectorstore TO alice;
    GRANT USAGE ON FOREIGN SERVER vectorstore TO alice;");
# a database's history: finished jobs within the retention window
sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, status, finished_at)
    SELECT 'vs_old', 'f' || g, 'c', 'alice', 'completed', now() FROM generate_series(1, $n) g;
    ANALYZE vectorstore.job;");
is(sq("SELECT count(*) FROM vectorstore.job WHERE origin IS DISTINCT FROM vectorstore._worker_own()"),
   '0', 'every job is this database\'s own');

# 1. one session calling the guard as the worker does, claim after claim
my $out = sq(q{
	SET plan_cache_mode = auto;
	BEGIN;
	SELECT vectorstore._worker_claim_guard() FROM generate_series(1, 10);
	SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relid = 'vectorstore.job'::regclass;
	COMMIT;});
my ($read) = grep { /^\d+$/ } reverse split /\n/, $out;
diag("10 guard calls read $read job tuples by sequential scan ($n jobs)");
cmp_ok($read, '<', $n, '10 claim guards do not read the job table end to end');

my $times = sq(q{
	DO $$
	DECLARE t timestamptz; ms float8[] := '{}';
	BEGIN
	  FOR i IN 1..10 LOOP
	    t := clock_timestamp();
	    PERFORM vectorstore._worker_claim_guard();
	    ms := ms || extract(epoch FROM clock_timestamp() - t) * 1000;
	  END LOOP;
	  RAISE NOTICE 'guard ms: %', ms;
	  CREATE TEMP TABLE g AS SELECT ms;
	END $$;
	SELECT g.ms[1:5], g.ms[6:10] FROM g;});
diag("guard call times (ms), calls 1-5 | 6-10: $times");
my ($first, $later) = split /\|/, $times;
my @f = ($first =~ /([\d.e+-]+)/g);
my @l = ($later =~ /([\d.e+-]+)/g);
my ($fmax) = sort { $b <=> $a } @f;
my ($lmax) = sort { $b <=> $a } @l;
# (times are shown, not asserted: the rows read above are the mechanism)
diag("slowest of calls 1-5: $fmax ms; of calls 6-10: $lmax ms");

# 2. the worker itself: 20 small uploads queued by alice
my $store = as('alice', "SELECT id FROM vectorstore.vs_store_create(name => 'a')");
sq("SELECT pg_stat_reset_single_table_counters('vectorstore.job'::regclass)");
as('alice', "SELECT vectorstore.vs_enqueue_upload('$store', 'a' || g || '.txt', 'x') FROM generate_series(1, 20) g");
my $t0 = time;
while (time - $t0 < 120)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE status NOT IN ('completed','failed','cancelled')") eq '0';
	usleep(200_000);
}
my $took = time - $t0;
# let the worker leave (flushing its statistics)
sleep 4;
my $wread = sq("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relid = 'vectorstore.job'::regclass");
diag(sprintf("20 uploads sent in %.1f s; job tuples read by sequential scan meanwhile: %s", $took, $wread));
cmp_ok($wread, '<', 2 * $n, 'the worker sending 20 uploads does not read the job table end to end again and again');

$node->stop;
$emu->stop;
done_testing();
