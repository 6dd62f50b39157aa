# The worker analyzes the job table when it has grown to twice what its
# statistics describe (so that plans kept from a nearly empty table are made
# again), but at most once a minute: a burst's own updates double the table
# again and again while it runs, and each ANALYZE costs its sample and every
# plan made again (vs_worker_analyze_if_grown, src/worker.c).
#
# With autovacuum off, pg_stat_user_tables.analyze_count counts the worker's
# ANALYZEs alone. Three bursts, each many times the table before it, within
# a minute: the first one that grows the table is analyzed, the others not.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('analyze', $emu,
	conf => [ VsWorkerTest::conf(), 'autovacuum = off' ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'analyze')");
sub analyzed
{
	return sq("SELECT analyze_count FROM pg_stat_user_tables
	           WHERE schemaname = 'vectorstore' AND relname = 'job'");
}

my $t0 = time;
my @counts;
for my $n (4, 400, 3000)
{
	sq("SELECT count(vectorstore.vs_enqueue_upload('$vs', 'r' || i || '.txt', (SELECT string_agg(md5(i || '.' || k), '') FROM generate_series(1, 40) k)))
	    FROM generate_series(1, $n) i");
	VsWorkerTest::wait_idle($node, 'postgres', "$n jobs");
	sq("SELECT pg_stat_force_next_flush()");
	push @counts, analyzed();
}
my $took = time - $t0;
diag("analyze_count after each burst: @counts (bursts took $took s)");
is($counts[0], 0, 'a table of a few pages is not analyzed');
is($counts[1], 1, 'a table grown past twice its statistics is analyzed');
SKIP:
{
	skip "the bursts took $took s: the minute had passed", 1 if $took >= 55;
	is($counts[2], 1, 'but not again within the minute, however much it grew meanwhile');
}
ok(sq("SELECT reltuples > 0 FROM pg_class WHERE oid = 'vectorstore.job'::regclass"),
	'the statistics describe the grown table');

$node->stop;
$emu->stop;
done_testing();
