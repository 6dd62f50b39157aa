# Red team, round three: a hostile server makes IMPORT FOREIGN SCHEMA spin
# past statement_timeout and cancel. A store whose one file has 4,000
# attribute keys that agree in their first 70 bytes: the import looks each
# key up in a list (quadratic) and makes unique column names by trying
# suffixes against a list (cubic), with no CHECK_FOR_INTERRUPTS, before it
# fails on the column count. The promise: every network call honours
# statement_timeout and cancel; a hostile server never exhausts a backend.
# Failed before 0.2.0's fix: with statement_timeout 1s the statement was
# still running 60 s later (the harness gives up; the node is stopped
# immediately). Now keys and names are hashed (strset.c), the loops check
# for interrupts, and a store needing more than 1600 columns is refused
# (54011) as soon as its keys show it.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use Time::HiRes qw(usleep);
use VsTest;

my $emu = VsTest::Emulator->start;
my $hdir = tempdir(CLEANUP => 1);
my $top = $ENV{TESTDIR} // '.';
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	open(STDOUT, '>', "$hdir/stdout");
	open(STDERR, '>', "$hdir/stderr");
	exec('perl', "$top/test/hostile/fanout.pl", $hdir) or POSIX::_exit(1);
}
for (1 .. 400) { last if -s "$hdir/port"; usleep(25_000); }
die "fanout server did not start" unless -s "$hdir/port";
my $hport = slurp_file("$hdir/port");
chomp $hport;

my $node = VsTest::new_node('impspin', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore; CREATE SCHEMA imp');

my $timed_out = 0;
my ($ret, $out, $err) = $node->psql('postgres',
	"SET vectorstore.base_url = 'http://127.0.0.1:$hport/keys-4000/v1'; "
	  . "SET statement_timeout = '1s'; "
	  . "IMPORT FOREIGN SCHEMA vs_k FROM SERVER vectorstore INTO imp",
	timeout => 60, timed_out => \$timed_out, on_error_stop => 0);
ok(!$timed_out, 'the import ends (statement_timeout 1s) within 60 s');
like($err // '', qr/canceling statement due to statement timeout|more attribute keys than a table can have columns/,
	'it is ended by statement_timeout (or refused: a table has at most 1600 columns)');
if ($timed_out)
{
	$node->stop('immediate');
	$node->start;
}

# Under the column limit such keys import: 1,500 keys of 64 bytes (the
# longest attribute key) alike but for their last 6, all clipped to the
# same 63 bytes, each a distinct column (_2, _3, ... suffixes) that reads
# its key by the attribute option.
$timed_out = 0;
($ret, $out, $err) = $node->psql('postgres',
	"SET vectorstore.base_url = 'http://127.0.0.1:$hport/keys-1500-64/v1'; "
	  . "IMPORT FOREIGN SCHEMA vs_k FROM SERVER vectorstore INTO imp",
	timeout => 120, timed_out => \$timed_out, on_error_stop => 0);
ok(!$timed_out && ($err // '') eq '', 'a store with 1,500 keys imports') or diag($err);
is($node->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT attname) FROM pg_attribute
	 WHERE attrelid = 'imp.k'::regclass AND attnum > 0}), '1508|1508',
	'8 fixed columns and one per key, each name once');
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT o.option_value)
	  FROM pg_attribute a, pg_options_to_table(a.attfdwoptions) o
	 WHERE a.attrelid = 'imp.k'::regclass AND o.option_name = 'attribute'}), '1500',
	'each attribute column reads its own key');

$node->stop('immediate');
kill 'TERM', $hpid;
waitpid($hpid, 0);
$emu->stop;
done_testing();
