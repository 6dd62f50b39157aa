# What 001_cancel does not cover: interrupts during the multi-handle path
# (vs_upload_many, libcurl's multi interface), during a slow body rather
# than a stall, during a poll's wait, and statement_timeout during a stall.
# Each must end the call within a second and leave the session usable.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('cancel_more', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'c')");
my $f = $node->safe_psql('postgres', "SELECT (vectorstore.vs_upload('$vs', 'f.txt', 'some text', wait => true)).id");

# run $sql in the background; return once its backend is active for 300 ms
sub start_bg
{
	my ($sql, $tag) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'), '-c', "/* $tag */ $sql" ],
		'>', \$out, '2>', \$err);
	my $pid;
	for (1 .. 200)
	{
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query LIKE '/* $tag */%' AND pid <> pg_backend_pid()");
		last if $pid;
		usleep(25_000);
	}
	usleep(300_000);
	return ($h, \$out, \$err, $pid);
}

sub interrupt_case
{
	my ($name, $fault, $sql, $how, $want) = @_;
	$emu->clear_faults;
	$emu->fault($fault) if $fault;
	my ($h, $out, $err, $pid) = start_bg($sql, $name);
	ok($pid, "$name: running");
	my $t0 = time;
	$node->safe_psql('postgres', "SELECT $how($pid)") if $how;
	$h->finish;
	my $elapsed = time - $t0;
	like($$err, $want, "$name: ended with the right error") or diag($$err);
	cmp_ok($elapsed, '<', 1.0, "$name: ended ${elapsed}s after the interrupt (< 1 s)");
	$emu->clear_faults;
}

# cancel vs_upload_many while all its uploads stall (multi interface)
interrupt_case('many_cancel', { kind => 'stall', count => 20, stall_ms => 60000, route => '/files' },
	"SELECT count(*) FROM vectorstore.vs_upload_many('$vs', ARRAY['a','b','c','d'], ARRAY['1','2','3','4'], max_concurrency => 4)",
	'pg_cancel_backend', qr/canceling statement due to user request/);

# terminate vs_upload_many likewise
interrupt_case('many_terminate', { kind => 'stall', count => 20, stall_ms => 60000, route => '/files' },
	"SELECT count(*) FROM vectorstore.vs_upload_many('$vs', ARRAY['a','b'], ARRAY['1','2'])",
	'pg_terminate_backend', qr/terminating connection due to administrator command/);

# cancel during a slow body (bytes keep arriving: the progress callback must still see it)
interrupt_case('slow_body_cancel', { kind => 'slow_body', count => 1, chunk_bytes => 1, interval_ms => 200 },
	"SELECT vectorstore.vs_store_get('$vs')",
	'pg_cancel_backend', qr/canceling statement due to user request/);

# cancel while a poll waits between polls (the file never completes)
$emu->config({ processing_delay_ms => 600000 });
my $slow = $node->safe_psql('postgres', "SELECT (vectorstore.vs_upload('$vs', 's.txt', 'slow')).id");
interrupt_case('poll_cancel', undef,
	"SELECT vectorstore.vs_store_file_poll('$vs', '$slow', poll_interval_ms => 60000)",
	'pg_cancel_backend', qr/canceling statement due to user request/);
$emu->config({ processing_delay_ms => 10 });

# statement_timeout during a stall (no retry wait involved)
{
	$emu->fault({ kind => 'stall', count => 1, stall_ms => 60000, route => '/search' });
	my ($o, $e) = ('', '');
	my $t0 = time;
	IPC::Run::run([ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'),
		'-c', "SET statement_timeout = '500ms'; SELECT count(*) FROM vectorstore.vs_search('$vs', 'text')" ],
		'>', \$o, '2>', \$e);
	my $elapsed = time - $t0;
	like($e, qr/canceling statement due to statement timeout/, 'statement_timeout ends a stalled search');
	cmp_ok($elapsed, '<', 1.5, "within a second of the timeout (${elapsed}s in all)");
	$emu->clear_faults;
}

is($node->safe_psql('postgres', "SELECT (vectorstore.vs_store_get('$vs')).name"), 'c', 'later requests work');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend crashed');
$node->stop;
$emu->stop;
done_testing();
