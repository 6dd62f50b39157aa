# Red team round nine: the withdraw churn (round five, 198 and 203 for
# uploads and removals) is back for attaches. _job_claim_attaches passes no
# room to the fair pick ('{}'): a slow credential with room 1 (one request
# held by its server, worker_concurrency 2) is claimed for up to
# 4 x worker_batch_size uploaded jobs at every claim; one file batch per
# store (a role's jobs to many stores, or with different request options)
# makes each a unit, one is sent and the rest are withdrawn and recorded
# back ('unsent'), to be claimed again at the next pass.
# Found: a role's 200 uploads to 200 stores: 10,100 attach claims for the
# 200 attach requests sent in 25 s (every claim a row version of each job);
# without the held request (RT9_NOHANG=1) 200 claims for 200 sends.
# What should have happened: a credential's room bounds what is claimed for
# it, attaches too (claims <= sends + 150, as 198 and 203 expect).
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
	$ENV{HDELAY} = 50;
	open(STDOUT, '>', "$dir/stdout");
	open(STDERR, '>', "$dir/stderr");
	exec('perl', ($ENV{TESTDIR} // '.') . '/test/hostile/hangone.pl', $dir) or POSIX::_exit(1);
}
END { kill 'TERM', -$hpid if $hpid; }
for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
die 'server did not start' unless -s "$dir/port";
my $hport = slurp_file("$dir/port");
chomp $hport;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('attachchurn', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'",
		"vectorstore.worker_concurrency = 2",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	CREATE TABLE public.claim_log (n bigserial, owner name);
	CREATE FUNCTION public.log_claim() RETURNS trigger LANGUAGE plpgsql AS
	  \$\$ BEGIN INSERT INTO public.claim_log(owner) VALUES (NEW.owner); RETURN NULL; END \$\$;
	CREATE TRIGGER log_claim AFTER UPDATE ON vectorstore.job FOR EACH ROW
	  WHEN (OLD.status = 'uploaded' AND NEW.status = 'attaching') EXECUTE FUNCTION public.log_claim();
	CREATE ROLE mallory LOGIN; GRANT USAGE ON SCHEMA vectorstore TO mallory;
	SELECT vectorstore.vs_credential_grant('h1', 'mallory');
});
# one upload the server holds: h1 is slow, its room 1
my $hang = as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_m', 'hang.txt', 'HANG')")
  unless $ENV{RT9_NOHANG};
usleep(2_500_000);
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_' || i, 'm' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 200) i");
usleep(25_000_000);
my $claims = sq("SELECT count(*) FROM public.claim_log");
my $sends = 0;
my $uploads = 0;
if (open(my $fh, '<', "$dir/requests"))
{
	while (<$fh>) { $sends++ if m{^POST \S*/file_batches}; $uploads++ if m{^POST \S*/files$}; }
	close $fh;
}
diag("in 25 s: $uploads uploads sent, $claims attach claims, $sends attach requests sent");
diag(sq("SELECT status, count(*) FROM vectorstore.job GROUP BY 1 ORDER BY 1"));
diag('the held upload: ' . sq("SELECT status || ' ' || coalesce(last_error, '') FROM vectorstore.job WHERE id = $hang")) if $hang;
cmp_ok($claims, '<=', $sends + 150, "a slow credential's attaches are claimed within its room, not withdrawn again and again");

$node->stop('immediate');
kill 'TERM', -$hpid;
waitpid($hpid, 0);
$hpid = 0;
$emu->stop;
done_testing();
