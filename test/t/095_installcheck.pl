# make installcheck on an existing cluster whose vectorstore.base_url points
# at a real API (here a second local server standing in for it, counting what
# it receives): the suites run against the local server installcheck starts,
# and not one request reaches the configured API. Run by hand, without the
# harness, a suite stops before sending anything; so does one whose base_url
# is not the harness's loopback server.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $top = $ENV{TESTDIR} // '.';
my $real = VsTest::Emulator->start(api_key => 'sk-real');    # "the real API"
my $node = VsTest::new_node('installcheck', $real, conf => ["vectorstore.api_key = 'sk-real'"]);
$node->start;

# the cluster really would send to it: one request from an ordinary session
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
$node->safe_psql('postgres', 'SELECT count(*) FROM vectorstore.vs_stores()');
my $sent = $real->count('GET /v1/vector_stores');
is($sent, 1, 'the cluster is configured to send to the "real" API');

# make installcheck, as a PGXS user runs it against this cluster
my $host = $node->host;
my $port = $node->port;
my $out = `cd '$top' && make -s installcheck PGHOST='$host' PGPORT='$port' VS_REGRESS='00_setup 10_stores 20_files' 2>&1`;
my $rc = $?;
is($rc, 0, 'make installcheck passes on an existing cluster') or diag($out);
like($out, qr/All 3 tests passed/, 'the three suites ran');
my $total = 0;
my $stats = $real->stats->{requests} // {};
for my $route (keys %$stats) { $total += $_ for values %{ $stats->{$route} }; }
is($total, $sent, 'not one request of installcheck reached the configured API');

# a suite run by hand, without the harness, sends nothing and says why
my $pg_regress = $ENV{PG_REGRESS};
my $outdir = PostgreSQL::Test::Utils::tempdir();
my $manual = `'$pg_regress' --inputdir='$top' --outputdir='$outdir' --host='$host' --port='$port' --load-extension=vectorstore --dbname=manual_regression 10_stores 2>&1`;
isnt($? >> 8, 0, 'a suite run without its harness fails');
like(slurp_file("$outdir/results/10_stores.out"), qr/not run: these suites send requests only to the local server/,
	'and says it did not run');
$total = 0;
$stats = $real->stats->{requests} // {};
for my $route (keys %$stats) { $total += $_ for values %{ $stats->{$route} }; }
is($total, $sent, 'without the harness, a suite sends nothing to the configured API');

# the guard itself: a session whose base_url is not the harness's loopback
# server is refused, whatever it claims to be
my $realurl = $real->url;
my $rport = $real->port;
for my $case ([ "base_url is not the harness's server", "-c vstest.emulator_url=http://127.0.0.1:9 -c vectorstore.base_url=$realurl/v1" ],
	[ 'the harness\'s server is not a loopback address', "-c vstest.emulator_url=http://localhost:$rport -c vectorstore.base_url=http://localhost:$rport/v1" ])
{
	my ($what, $opts) = @$case;
	my $o = PostgreSQL::Test::Utils::tempdir();
	`PGOPTIONS='$opts' '$pg_regress' --inputdir='$top' --outputdir='$o' --host='$host' --port='$port' --load-extension=vectorstore --dbname=guard_regression 10_stores 2>&1`;
	isnt($? >> 8, 0, "$what: the suite fails");
	like(slurp_file("$o/results/10_stores.out"), qr/not run: these suites send requests only to the local server/,
		"$what: it did not run");
	$total = 0;
	$stats = $real->stats->{requests} // {};
	for my $route (keys %$stats) { $total += $_ for values %{ $stats->{$route} }; }
	is($total, $sent, "$what: nothing reached the configured API");
}

$node->stop;
$real->stop;
done_testing();
