# VsWorkerTest: helpers for the worker's TAP suites (test/t/05x_*.pl, and the
# red-team ones that run a server of test/hostile/ or log claims: 193-204).
#
#   my $proxy = VsWorkerTest::Proxy->start($emu);     # test/hostile/proxy.pl
#   $proxy->url('slashbatch');    # http://127.0.0.1:PORT/slashbatch/v1
#   $proxy->count('poll0', 'GET', qr{/file_batches/});   # requests seen
#   VsWorkerTest::wait_idle($node, $db);                 # queue drained
#
#   my $h = VsWorkerTest::Hostile->start('hangone.pl', HDELAY => 50);
#                                 # test/hostile/hangone.pl, own process group
#   $h->port; $h->url;            # http://127.0.0.1:PORT/v1
#   $h->requests;                 # DIR/requests so far ('' before the first)
#   $h->stop;                     # also at END and when the object goes away
#
#   VsWorkerTest::claim_log($node);      # public.claim_log (n, owner): claims
#   VsWorkerTest::claim_count($node);    # public.claims: a sequence counting them
package VsWorkerTest;

use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

# The worker's settings for tests: short naps and delays.
sub conf
{
	my (%o) = @_;
	return (
		"vectorstore.launcher_naptime = '1s'",
		"vectorstore.worker_naptime = '" . ($o{naptime} // '1s') . "'",
		"vectorstore.worker_reconcile_delay = '" . ($o{reconcile} // '2s') . "'",
		"vectorstore.worker_poll_interval = '100ms'",
		"vectorstore.timeout = '" . ($o{timeout} // '3s') . "'",
		"vectorstore.worker_max_attempts = " . ($o{max_attempts} // 5),
	);
}

# Wait until no job is unfinished and no trigger-mode change is pending.
sub wait_idle
{
	my ($node, $db, $what) = @_;
	$node->poll_query_until($db // 'postgres',
		"SELECT NOT EXISTS (SELECT 1 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled'))
		   AND NOT EXISTS (SELECT 1 FROM vectorstore.sync_change)")
	  or die 'queue did not drain' . ($what ? ": $what" : '');
}

# The test's eyes on claims: a table public.claim_log (n bigserial, owner
# name) that gets a row (the job's owner) for each job claimed, by an AFTER
# UPDATE trigger log_claim on vectorstore.job WHEN $when (a claim for upload
# unless given).
my $claimed = "OLD.status = 'queued' AND NEW.status = 'uploading'";

sub claim_log
{
	my ($node, $when) = @_;
	$when //= $claimed;
	$node->safe_psql('postgres', qq{
	CREATE TABLE public.claim_log (n bigserial, owner name);
	CREATE FUNCTION public.log_claim() RETURNS trigger LANGUAGE plpgsql AS
	  \$\$ BEGIN INSERT INTO public.claim_log(owner) VALUES (NEW.owner); RETURN NULL; END \$\$;
	CREATE TRIGGER log_claim AFTER UPDATE ON vectorstore.job FOR EACH ROW
	  WHEN ($when) EXECUTE FUNCTION public.log_claim();
});
}

# The same, counted only: the sequence public.claims, advanced by an AFTER
# UPDATE trigger count_claim on vectorstore.job WHEN $when (a claim for
# upload unless given); its last_value is the count.
sub claim_count
{
	my ($node, $when) = @_;
	$when //= $claimed;
	$node->safe_psql('postgres', qq{
	CREATE SEQUENCE public.claims;
	CREATE FUNCTION public.count_claim() RETURNS trigger LANGUAGE plpgsql AS
	  \$\$ BEGIN PERFORM pg_catalog.nextval('public.claims'); RETURN NULL; END \$\$;
	CREATE TRIGGER count_claim AFTER UPDATE ON vectorstore.job FOR EACH ROW
	  WHEN ($when) EXECUTE FUNCTION public.count_claim();
});
}

package VsWorkerTest::Hostile;

# One of the small servers in test/hostile/ (hangone.pl, stallfiles.pl,
# bigfilelist.pl): started with a temporary directory of its own (DIR/port,
# DIR/requests) and the environment variables given (HDELAY, BIGMB, HPORT),
# in a process group of its own, which stop() kills (the server and every
# connection's child) and reaps. Stopped also when the object goes away and
# at END, so nothing is left running when a test dies.

use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Utils;
use Scalar::Util qw(weaken);
use Time::HiRes qw(usleep);

my %live;    # pid => the object (a weak reference), while it runs, for END

sub start
{
	my ($class, $script, %env) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		$ENV{$_} = $env{$_} for keys %env;
		open(STDOUT, '>', "$dir/stdout");
		open(STDERR, '>', "$dir/stderr");
		exec('perl', ($ENV{TESTDIR} // '.') . "/test/hostile/$script", $dir) or POSIX::_exit(1);
	}
	my $self = bless { pid => $pid, dir => $dir, owner => $$ }, $class;
	$live{$pid} = $self;
	weaken($live{$pid});
	for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
	die 'server did not start' unless -s "$dir/port";
	my $port = slurp_file("$dir/port");
	chomp $port;
	$self->{port} = $port;
	return $self;
}

sub port { return shift->{port}; }
sub dir  { return shift->{dir}; }
sub url  { my $self = shift; return "http://127.0.0.1:$self->{port}/v1"; }

# what the server has logged so far ("METHOD PATH" lines), '' before any
sub requests
{
	my $self = shift;
	return -e "$self->{dir}/requests" ? slurp_file("$self->{dir}/requests") : '';
}

sub stop
{
	my $self = shift;
	my $pid = delete $self->{pid} or return;
	delete $live{$pid};
	return unless $self->{owner} == $$;    # not from a forked child
	local $?;    # at END, a dying test's exit status
	kill 'TERM', -$pid;
	waitpid($pid, 0);
}

sub DESTROY { my $self = shift; $self->stop if $self->{pid}; }

END { $_->stop for grep { defined } values %live; }

package VsWorkerTest::Proxy;

use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

sub start
{
	my ($class, $emu) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $top = $ENV{TESTDIR} // '.';
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/stdout");
		open(STDERR, '>', "$dir/stderr");
		exec('perl', "$top/test/hostile/proxy.pl", $dir, $emu->port) or POSIX::_exit(1);
	}
	for (1 .. 200) { last if -s "$dir/port"; usleep(25_000); }
	die "proxy did not start" unless -s "$dir/port";
	my $port = slurp_file("$dir/port");
	chomp $port;
	return bless { pid => $pid, port => $port, dir => $dir }, $class;
}

sub url { my ($self, $mode) = @_; return "http://127.0.0.1:$self->{port}/$mode/v1"; }

# Requests the proxy answered in mode $mode (method, path matching $re).
sub count
{
	my ($self, $mode, $method, $re) = @_;
	return 0 unless -e "$self->{dir}/requests";
	my $n = 0;
	for my $l (split /\n/, slurp_file("$self->{dir}/requests"))
	{
		my ($m, $meth, $path) = split / /, $l;
		$n++ if $m eq $mode && (!$method || $meth eq $method) && (!$re || $path =~ $re);
	}
	return $n;
}

sub stop
{
	my $self = shift;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	delete $self->{pid};
}

sub DESTROY { my $self = shift; $self->stop if $self->{pid}; }

1;
