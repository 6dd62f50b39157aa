# A stalled request ends within a second on query cancel, statement_timeout,
# pg_terminate_backend and server shutdown — and the backend never crashes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('cancel', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
my $store = $node->safe_psql('postgres',
	"SELECT id FROM vectorstore.vs_store_create(name => 'stall')");
ok($store =~ /^vs_/, 'store created');

# Start "SELECT vs_store_get(...)" against a stalled server in the background;
# return the harness, its output refs and the backend's pid.
sub start_stalled
{
	my ($sql) = @_;
	$emu->fault({ kind => 'stall', count => 1, stall_ms => 60000, route => '/vector_stores/' });
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'),
		  '-c', $sql ],
		'>', \$out, '2>', \$err);
	my $pid;
	for (1 .. 200)
	{
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query LIKE '%vs_store_get%' AND pid <> pg_backend_pid()");
		last if $pid;
		usleep(25_000);
	}
	# let the request reach the server and stall there
	usleep(300_000);
	return ($h, \$out, \$err, $pid);
}

# cancel
my ($h, $out, $err, $pid) = start_stalled("SELECT vectorstore.vs_store_get('$store')");
ok($pid, 'stalled request is running');
my $t0 = time;
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$h->finish;
my $elapsed = time - $t0;
like($$err, qr/canceling statement due to user request/, 'cancel raises the ordinary cancel error');
cmp_ok($elapsed, '<', 1.0, "cancel took ${elapsed}s (< 1 s)");
$emu->clear_faults;

# statement_timeout is covered in the regression suite; here: during a retry wait
$emu->fault({ kind => '429', count => 1, retry_after => '30', route => '/vector_stores/' });
($h, $out, $err, $pid) = (undef) x 4;
{
	my ($o, $e) = ('', '');
	$t0 = time;
	my $r = IPC::Run::run(
		[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'),
		  '-c', "SET statement_timeout = '500ms'; SELECT vectorstore.vs_store_get('$store')" ],
		'>', \$o, '2>', \$e);
	$elapsed = time - $t0;
	like($e, qr/statement timeout/, 'statement_timeout ends a retry wait');
	cmp_ok($elapsed, '<', 1.5, "within a second of the timeout (${elapsed}s in all)");
}
$emu->clear_faults;

# pg_terminate_backend
($h, $out, $err, $pid) = start_stalled("SELECT vectorstore.vs_store_get('$store')");
$t0 = time;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$h->finish;
$elapsed = time - $t0;
like($$err, qr/terminating connection due to administrator command/, 'terminate ends the backend');
cmp_ok($elapsed, '<', 1.0, "terminate took ${elapsed}s (< 1 s)");
$emu->clear_faults;

# the session machinery still works afterwards
is($node->safe_psql('postgres', "SELECT (vectorstore.vs_store_get('$store')).name"),
	'stall', 'later requests work');

# server shutdown (fast) while a request is stalled
($h, $out, $err, $pid) = start_stalled("SELECT vectorstore.vs_store_get('$store')");
$t0 = time;
$node->stop('fast');
$h->finish;
$elapsed = time - $t0;
cmp_ok($elapsed, '<', 1.0, "fast shutdown with a stalled request took ${elapsed}s (< 1 s)");
like($$err, qr/terminating connection due to administrator command|server closed the connection/,
	'the stalled backend was ended by the shutdown');

# no backend was ended by a signal at any point
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal/, 'no backend crashed');
$emu->stop;
done_testing();
