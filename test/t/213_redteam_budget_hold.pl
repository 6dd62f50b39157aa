# Red team round nine: the worker's flights share one budget for response
# bodies (max_response_size, 64 MB, "a hostile server cannot make the
# worker hold more than max_response_size at once"), and a body whose
# Content-Length is declared is allocated once at its size, clipped to what
# is left of the budget (vs_write_cb). A server at one credential's base URL
# answers a role's upload with headers declaring a 200 MB body, sends one
# byte and holds: that one request takes the whole budget for as long as it
# is held (the request timeout, and again at every retry). Every other
# response in the worker, of every credential and role, then has no room:
# its body is refused (too_large), and its job fails or waits.
# Found: the victim's 5 uploads on the settings credential (the emulator)
# all failed within 0.1 s, permanently, after one attempt: "vector store
# API response exceeds vectorstore.max_response_size (65536 kB) [POST
# /files]" -- their files were made on the server and are left there.
# What should have happened: one server's held response cannot take what
# every other credential's answers need; a role's upload on another
# credential completes as usual (a second or two).
use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $dir = tempdir(CLEANUP => 1);
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	POSIX::setpgid(0, 0);
	open(STDOUT, '>', "$dir/stdout");
	open(STDERR, '>', "$dir/stderr");
	exec('perl', ($ENV{TESTDIR} // '.') . '/test/hostile/bighold.pl', $dir) or POSIX::_exit(1);
}
END { kill 'TERM', -$hpid if $hpid; }
for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
die 'server did not start' unless -s "$dir/port";
my $hport = slurp_file("$dir/port");
chomp $hport;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('budgethold', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    GRANT USAGE ON FOREIGN SERVER vectorstore TO $r;");
}
sq("SELECT vectorstore.vs_credential_grant('h1', 'mallory')");
my $vs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'v')");
as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_m', 'big.txt', 'BIG')");
for (1 .. 100) { last if -s "$dir/requests"; usleep(50_000); }
usleep(1_000_000);

my $ids = as('victim', "SELECT string_agg(vectorstore.vs_enqueue_upload('$vs', 'v' || i || '.txt', 'victim ' || i)::text, ',')
                        FROM generate_series(1, 5) i");
my $t0 = time;
while (time - $t0 < 20)
{
	last if sq("SELECT count(*) FROM vectorstore.job WHERE id IN ($ids) AND status IN ('completed', 'failed')") == 5;
	usleep(100_000);
}
my $took = time - $t0;
my $st = sq("SELECT string_agg(status || ' (' || attempts || ') ' || left(coalesce(last_error, ''), 120), E'\\n' ORDER BY id)
             FROM vectorstore.job WHERE id IN ($ids)");
diag(sprintf("after %.1f s the victim's uploads on the settings credential:\n%s", $took, $st));
is(sq("SELECT count(*) FROM vectorstore.job WHERE id IN ($ids) AND status = 'completed'"), 5,
	"another credential's uploads complete while one server holds a response with a huge declared length");

$node->stop('immediate');
kill 'TERM', -$hpid;
waitpid($hpid, 0);
$hpid = 0;
$emu->stop;
done_testing();
