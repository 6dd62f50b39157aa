# The README's quick start runs as written on an empty database: the SQL
# between <!-- quickstart --> and <!-- /quickstart --> is taken from the
# README itself (not a copy), run by psql with ON_ERROR_STOP in a database
# with nothing in it, against the local server, and must upload its rows and
# find them. Editing the quick start so that it no longer runs fails here.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $top = $ENV{TESTDIR} // '.';
my $readme = slurp_file("$top/README.md");
my ($block) = $readme =~ /<!-- quickstart -->\n(.*?)<!-- \/quickstart -->/s;
ok(defined $block, 'the README marks its quick start');
my @sql = ($block // '') =~ /```sql\n(.*?)```/sg;
ok(@sql >= 1, 'the quick start holds SQL');
my $sql = join("\n", @sql);
like($sql, qr/\bvs_search\b/, 'the quick start searches');

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('quickstart', $emu);
$node->start;
# an empty database: nothing but what CREATE DATABASE copies from template0
$node->safe_psql('postgres', 'CREATE DATABASE quickstart TEMPLATE template0');
is($node->safe_psql('quickstart',
	"SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), '0',
	'the database starts empty');

my ($out, $err) = ('', '');
my $rc = $node->psql('quickstart', $sql, stdout => \$out, stderr => \$err, on_error_stop => 1);
is($rc, 0, 'the quick start runs without an error') or diag("stderr:\n$err\nstdout:\n$out");
unlike($err, qr/ERROR/, 'and prints no ERROR');

# what it printed: the uploads' outcome rows, then the search results
my @lines = grep { /\|/ } split /\n/, $out;
my @uploads = grep { /^[^|]+\.txt\|/ } @lines;
ok(@uploads >= 1, 'the upload query returned rows') or diag($out);
is(scalar(grep { !/\|completed$/ } @uploads), 0, 'every uploaded row is completed') or diag($out);
my @results = grep { /^\d+\|[0-9.]+\|/ } @lines;
ok(@results >= 1, 'the search returned rows') or diag($out);
my @ranks = map { (split /\|/)[0] } @results;
is_deeply(\@ranks, [1 .. scalar @ranks], 'in rank order, 1..n');
# the files it made are in the local server, as many as the table has rows
my $rows = $node->safe_psql('quickstart', 'SELECT count(*) FROM public.docs');
is(scalar @uploads, $rows, 'one file per row of the table it created');
is($emu->count('POST /v1/files'), $rows, 'the local server received one upload per row');

$node->stop;
$emu->stop;
done_testing();
