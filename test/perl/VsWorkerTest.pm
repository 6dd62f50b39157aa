# VsWorkerTest: helpers for the worker's TAP suites (test/t/05x_*.pl).
#
#   my $proxy = VsWorkerTest::Proxy->start($emu);     # test/hostile/proxy.pl
#   $proxy->url('slashbatch');    # http://127.0.0.1:PORT/slashbatch/v1
#   $proxy->count('poll0', 'GET', qr{/file_batches/});   # requests seen
#   VsWorkerTest::wait_idle($node, $db);                 # queue drained
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
