# A claim reads only what is due. A role's jobs waiting out a back-off (or a
# lease) sit in the same (status, owner, credential) run as its due ones; the
# fair pick used to read each run in id order and skip what was not yet due,
# so thousands of backed-off jobs were read at every claim of every step, for
# every role. The run is now read in the order (not_before, id) from an index
# that holds not_before: the claim stops at the first job not yet due.
#
# The mechanism is checked, not a time: the rows the pick reads in its
# transaction (the table's and its indexes' counters,
# pg_stat_get_xact_tuples_returned) stay a handful with 3,000 backed-off
# jobs ahead of the due one. No worker runs (nothing preloaded): the claim
# functions are called directly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('backoffscan', $emu, preload => '');
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore");

my $n = 3000;
# Each case: the rows of one (owner, credential) run in a state the pick
# reads; all but the last are backed off for an hour. A second owner has
# as many jobs, all due: whichever index the planner takes, reading by id
# and skipping what is not due reads one role's backed-off jobs or the
# other's due ones.
my %cases = (
	queued   => "'queued', NULL",
	uploaded => "'uploaded', 'file-x' || i",
	deleting => "'deleting', 'file-x' || i",
	discard  => "'failed', 'file-x' || i",
);
for my $case (sort keys %cases)
{
	my ($status, $file) = split /, /, $cases{$case}, 2;
	my $kind = $case eq 'deleting' ? 'delete' : 'upload';
	my $repl = $case eq 'deleting' ? '1' : 'NULL';
	sq(qq{
		TRUNCATE vectorstore.job;
		INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, owner, credential,
		                             status, file_id, replaces_job, not_before, finished_at)
		SELECT '$kind', 'vs_1', 'f' || i || '.txt', 'x', 'alice', 'c', $status, $file, $repl,
		       CASE WHEN i < $n THEN now() + interval '1 hour' ELSE now() - interval '1 second' END,
		       CASE WHEN $status = 'failed' THEN now() END
		FROM generate_series(1, $n) i;
		INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, owner, credential,
		                             status, file_id, replaces_job, not_before, finished_at)
		SELECT '$kind', 'vs_1', 'b' || i || '.txt', 'x', 'bob', 'c', $status, 'file-b' || i, $repl,
		       now() - interval '1 second', CASE WHEN $status = 'failed' THEN now() END
		FROM generate_series(1, $n) i;
		ANALYZE vectorstore.job;
	});
	my ($ids, $read) = split /\|/, sq(qq{
		BEGIN;
		CREATE TEMP TABLE picked AS
		  SELECT id FROM vectorstore._job_fair_pick('$case', '{}', 10, '{}', '{}', NULL, NULL, '{}', '{}', '{}');
		CREATE TEMP TABLE read AS
		  SELECT pg_stat_get_xact_tuples_returned('vectorstore.job'::regclass)
		         + (SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) FROM pg_index i
		            WHERE i.indrelid = 'vectorstore.job'::regclass) AS n;
		SELECT (SELECT string_agg(DISTINCT j.owner || ':' || (j.not_before <= now())::text, ',')
		        FROM picked p JOIN vectorstore.job j USING (id)),
		       (SELECT n FROM read);
		ROLLBACK;
	});
	is($ids, 'alice:true,bob:true', "$case: the pick takes due jobs of each run, and only due ones");
	cmp_ok($read, '<', 100, "$case: the pick reads a handful of rows, not the $n backed-off ones (read $read)");
}

# Within a run, due jobs come in the order they became due: a job retried
# after a back-off does not jump ahead of one that was due before it.
sq(qq{
	TRUNCATE vectorstore.job;
	INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, credential, status, not_before)
	VALUES ('vs_1', 'late.txt', 'x', 'alice', 'c', 'queued', now() - interval '1 second'),
	       ('vs_1', 'early.txt', 'x', 'alice', 'c', 'queued', now() - interval '1 minute');
});
is(sq(qq{SELECT string_agg(j.filename, ',' ORDER BY p.turn)
         FROM vectorstore._job_fair_pick('queued', '{}', 10, '{}', '{}', NULL, NULL, '{}', '{}', '{}') p
         JOIN vectorstore.job j USING (id)}),
	'early.txt,late.txt', 'within a run, the job due first comes first');

$node->stop;
$emu->stop;
done_testing();
