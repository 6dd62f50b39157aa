# Red team, round three: an ordinary role makes a backend that neither
# statement_timeout, pg_cancel_backend nor pg_terminate_backend can stop.
# A search table's query = ANY(array) drops duplicates by comparing each
# element with every one kept before it (quadratic) with no
# CHECK_FOR_INTERRUPTS, before the request cap is looked at: 250,000
# distinct queries keep a CPU busy for minutes, and only a SIGKILL (which
# restarts every session) ends it sooner.
# The same quadratic checks for duplicates, on arrays a role passes: the
# names of request_options.extra_headers (every request's header list is
# built by replacing each name in a list) and vs_upload_many's file_ids.
# Failed before 0.2.0's fix: with statement_timeout 1s each statement was
# still running 60 s later (the node is then stopped immediately and
# started again). Now duplicates are found by hashing (strset.c), every loop
# over the array checks for interrupts, and extra_headers holds at most 256
# names (22023).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('anyspin', $emu);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT CREATE ON SCHEMA public TO alice;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
});
$node->safe_psql('postgres', q{
	CREATE FOREIGN TABLE s (query text, file_id text, score float8)
		SERVER vectorstore OPTIONS (vector_store_id 'vs_x');
}, extra_params => [ '-U', 'alice' ]);

my @cases = (
	[ 'search table query = ANY(250,000 queries)',
	  "SELECT count(*) FROM s WHERE query = ANY(ARRAY(SELECT 'q' || g FROM generate_series(1, 250000) g))" ],
	[ 'request_options with 250,000 extra_headers',
	  "SELECT count(*) FROM vectorstore.vs_stores(max_items => 1, request_options => jsonb_build_object("
		. "'extra_headers', (SELECT jsonb_object_agg('X-H' || g, 'v') FROM generate_series(1, 250000) g)))" ],
	[ 'vs_upload_many with 250,000 file_ids',
	  "SELECT count(*) FROM vectorstore.vs_upload_many('vs_x', '{}'::text[], '{}'::text[], "
		. "file_ids => ARRAY(SELECT 'file-' || g FROM generate_series(1, 250000) g))" ],
);
for my $case (@cases)
{
	my ($name, $sql) = @$case;
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql('postgres', "SET statement_timeout = '1s'; $sql",
		extra_params => [ '-U', 'alice' ],
		timeout => 60, timed_out => \$timed_out, on_error_stop => 0);
	ok(!$timed_out, "$name: ends (statement_timeout 1s) within 60 s");
	# (or it finished within the second: the calls are linear now, and on
	# a machine with cycles to spare the 250,000 ids can be done in time)
	ok($ret == 0 || ($err // '') =~ /canceling statement due to statement timeout|max_requests_per_statement|has \d+ names; at most \d+ are allowed/,
		"$name: finished, or ended by statement_timeout (or the request cap, or a bound on the list)")
	  or diag("rc $ret: " . ($err // ''));
	if ($timed_out)
	{
		# the backend spins on: only an immediate stop ends it
		$node->stop('immediate');
		$node->start;
	}
}

$node->stop('immediate');
$emu->stop;
done_testing();
