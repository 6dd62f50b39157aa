# Fan-out and pacing where a regression test cannot reach: a cancel and a
# termination while vs_search_many has searches in flight (and answers held
# back for their turn); a 429 that says the quota is used up is not waited
# out like one that says "slow down"; the worker is exempt from the
# per-statement request cap while the cap holds in SQL.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(time usleep);
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);

# the hostile server (test/hostile/hostile.pl), for the two kinds of 429
my $hdir = tempdir(CLEANUP => 1);
my $top = $ENV{TESTDIR} // '.';
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	open(STDOUT, '>', "$hdir/stdout");
	open(STDERR, '>', "$hdir/stderr");
	exec('perl', "$top/test/hostile/hostile.pl", $hdir) or POSIX::_exit(1);
}
for (1 .. 200) { last if -s "$hdir/port"; usleep(25_000); }
die "hostile server did not start" unless -s "$hdir/port";
my $hport = slurp_file("$hdir/port");
chomp $hport;

my $node = VsTest::new_node('fanout', $emu, conf => [
	"vectorstore.max_requests_per_statement = 4",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '200ms'",
	"vectorstore.worker_poll_interval = '100ms'",
]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
sub sq { return $node->safe_psql('postgres', $_[0]); }

my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'fanout')");
is(sq("SET vectorstore.max_requests_per_statement = 0;
       SELECT count(*) FROM vectorstore.vs_upload_many('$vs', ARRAY['a.txt', 'b.txt', 'c.txt'],
         ARRAY['refund policy', 'shipping policy', 'warranty policy']) WHERE status = 'completed'"),
	'3', 'three documents uploaded');

# Start a statement in the background; return the harness, its stderr and
# its backend's pid once it is running (and had time to send its requests).
sub start_bg
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', \$out, '2>', \$err);
	my $pid;
	for (1 .. 400)
	{
		$pid = sq("SELECT pid FROM pg_stat_activity WHERE query LIKE '%vs_search_many%'
		           AND state = 'active' AND pid <> pg_backend_pid()");
		last if $pid;
		usleep(25_000);
	}
	usleep(400_000);
	return ($h, \$err, $pid);
}

my $many = "SELECT count(DISTINCT query_index) FROM vectorstore.vs_search_many('$vs', ARRAY['refund', 'shipping', 'warranty', 'policy'])";

# --- cancel while every search is in flight (each held 60 s by the server)
$emu->config({ latency => { search => 60000 } });
my ($h, $err, $pid) = start_bg($many);
ok($pid, 'vs_search_many is running');
my $t0 = time;
sq("SELECT pg_cancel_backend($pid)");
$h->finish;
my $elapsed = time - $t0;
like($$err, qr/canceling statement due to user request/, 'cancel ends vs_search_many with the cancel error');
cmp_ok($elapsed, '<', 20, "it did not wait for the 60 s answers (${elapsed}s)");
$emu->config({ latency => {} });
is(sq($many), '4', 'the next vs_search_many works');

# --- cancel with some answers in hand: two searches stall, two answer at once
#     (their rows are out or held for their turn when the cancel comes)
$emu->fault({ kind => 'stall', count => 2, stall_ms => 60000, route => '/search' });
($h, $err, $pid) = start_bg($many);
ok($pid, 'vs_search_many is running with two searches stalled');
sq("SELECT pg_cancel_backend($pid)");
$h->finish;
like($$err, qr/canceling statement due to user request/, 'cancel with answers held back');
$emu->clear_faults;
is(sq($many), '4', 'and vs_search_many works afterwards');

# --- terminate while searches are in flight
$emu->config({ latency => { search => 60000 } });
($h, $err, $pid) = start_bg($many);
sq("SELECT pg_terminate_backend($pid)");
$h->finish;
like($$err, qr/terminating connection due to administrator command/, 'terminate ends the backend');
$emu->config({ latency => {} });

# --- two kinds of 429 (hostile server, Retry-After: 0): "slow down" costs
#     vs_upload_many no attempt (at most 50 per upload), "insufficient_quota"
#     counts as any failure (max_retries 2: three attempts)
sub hostile_upload
{
	my ($mode) = @_;
	unlink "$hdir/requests";
	my $r = sq("SET vectorstore.base_url = 'http://127.0.0.1:$hport/$mode/v1';
	            SET vectorstore.max_requests_per_statement = 0;
	            SELECT string_agg(DISTINCT status, ',') FROM vectorstore.vs_upload_many('vs_x',
	              ARRAY['q1.txt', 'q2.txt'], ARRAY['one', 'two'], wait => false)");
	my @lines = -e "$hdir/requests" ? split(/\n/, slurp_file("$hdir/requests")) : ();
	return ($r, scalar(grep { / POST \/$mode\/v1\/files$/ } @lines));
}
my ($status, $sent) = hostile_upload('quota');
is($status, 'upload_failed', 'insufficient_quota: the uploads fail');
is($sent, 6, 'insufficient_quota: three attempts per upload, as for any failure');
($status, $sent) = hostile_upload('ratelimited');
is($status, 'upload_failed', 'a 429 that never stops: the uploads fail in the end');
is($sent, 2 * 51, 'rate limited: 50 429s waited out per upload, the 51st is final');

# --- the cap holds in SQL (4 per statement from postgresql.conf) ...
my ($ret, $cap_out, $cap_err) = $node->psql('postgres',
	"SELECT count(vectorstore.vs_search_json('$vs', 'q' || i)) FROM generate_series(1, 6) i");
isnt($ret, 0, 'six searches in one statement fail');
like($cap_err, qr/max_requests_per_statement \(4\)/, 'the cap from postgresql.conf stops a SQL statement');
# ... and the worker is exempt: ten jobs, each uploaded once in one pass
my $uploads0 = $emu->count('POST /v1/files', '200');
sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'w' || i || '.txt', 'worker note ' || i)
    FROM generate_series(1, 10) i");
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled')")
  or die 'the queue did not drain';
is(sq("SELECT count(*) FROM vectorstore.job WHERE status = 'completed'"), '10',
	'the worker sent more than 4 requests in a pass: every job completed');
is($emu->count('POST /v1/files', '200') - $uploads0, 10, 'each job was uploaded once');
my $wpid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'");
unlike(slurp_file($node->logfile), qr/\[$wpid\] ERROR/, 'the worker raised no error (no pass was cut short by the cap)');

unlike(slurp_file($node->logfile), qr/was terminated by signal/, 'no backend crashed');
$node->stop;
kill 'TERM', $hpid;
waitpid($hpid, 0);
$emu->stop;
done_testing();
