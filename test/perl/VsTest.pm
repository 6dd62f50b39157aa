# VsTest: helpers for the TAP suites (test/t/*.pl).
#
#   my $emu = VsTest::Emulator->start(processing_delay_ms => 20);
#   $emu->url;                    # http://127.0.0.1:PORT
#   $emu->control('POST', '/_emulator/faults', {kind => '503', count => 1});
#   $emu->stats->{requests}{'GET /v1/vector_stores/{id}'}{200};
#   $emu->clear_requests; ...; $emu->requests;   # the request log (wire)
#   $emu->stop;                   # also done when the object goes away
#
#   my $node = VsTest::new_node('main', $emu, preload => 'vectorstore');
#   my $h = VsTest::Hostile->start;  # test/hostile/hostile.pl
#   $h->url('echo');              # http://127.0.0.1:PORT/echo/v1
#
# The emulator binary comes from $ENV{VS_EMULATOR_BIN} (set by test/run.sh)
# or the tree's emulator/vectorstore-emulator.
package VsTest;

use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use JSON::PP;
use Time::HiRes qw(usleep);

# A cluster with the extension preloaded and pointed at the emulator.
sub new_node
{
	my ($name, $emu, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $preload = $opt{preload} // 'vectorstore';
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = '$preload'",
		"vectorstore.base_url = '" . $emu->url . "/v1'",
		"max_worker_processes = 16",
		@{ $opt{conf} // [] }) . "\n");
	return $node;
}

package VsTest::Emulator;

use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(usleep);

sub start
{
	my ($class, %opt) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $bin = $ENV{VS_EMULATOR_BIN};
	if (!$bin)
	{
		my $top = $ENV{TESTDIR} // '.';
		$bin = "$top/emulator/vectorstore-emulator";
	}
	my @args = ($bin, '--port', '0', '--port-file', "$dir/port", '--quiet');
	push @args, '--processing-delay-ms', $opt{processing_delay_ms}
	  if defined $opt{processing_delay_ms};
	push @args, '--api-key', $opt{api_key} if defined $opt{api_key};
	push @args, @{ $opt{args} } if $opt{args};
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/stdout");
		open(STDERR, '>', "$dir/stderr");
		exec(@args) or die "exec $bin: $!";
	}
	for (1 .. 200)
	{
		last if -s "$dir/port";
		usleep(25_000);
	}
	die "emulator did not start" unless -s "$dir/port";
	open(my $fh, '<', "$dir/port") or die;
	my $port = <$fh>;
	chomp $port;
	close $fh;
	return bless { pid => $pid, port => $port, dir => $dir }, $class;
}

sub url { my $self = shift; return "http://127.0.0.1:$self->{port}"; }
sub port { return shift->{port}; }

# A plain HTTP/1.0 request; returns (status, decoded JSON body or raw text).
sub request
{
	my ($self, $method, $path, $body, %hdr) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
		Proto => 'tcp', Timeout => 30) or die "connect: $!";
	my $json = defined $body ? (ref $body ? encode_json($body) : $body) : '';
	my $req = "$method $path HTTP/1.0\r\nHost: 127.0.0.1\r\n";
	$req .= "$_: $hdr{$_}\r\n" for keys %hdr;
	$req .= "Content-Type: application/json\r\nContent-Length: " . length($json) . "\r\n"
	  if defined $body;
	$req .= "\r\n$json";
	print $sock $req;
	local $/;
	my $resp = <$sock>;
	close $sock;
	my ($head, $content) = split /\r\n\r\n/, $resp, 2;
	my ($status) = $head =~ m{^HTTP/\S+ (\d+)};
	my $decoded = eval { decode_json($content) } // $content;
	return wantarray ? ($status, $decoded) : $decoded;
}

sub control { my ($self, $m, $p, $b) = @_; return scalar $self->request($m, $p, $b); }
sub stats   { return shift->control('GET', '/_emulator/stats'); }
sub reset   { return shift->control('POST', '/_emulator/reset'); }
sub fault   { my ($self, $spec) = @_; return $self->control('POST', '/_emulator/faults', $spec); }
sub clear_faults { return shift->control('DELETE', '/_emulator/faults'); }
sub config  { my ($self, $c) = @_; return $self->control('POST', '/_emulator/config', $c); }

# The request log (GET /_emulator/requests): an arrayref of entries, oldest
# first, those with seq > $since only when $since is given. Each entry has
# seq, method, path, query (raw), route, route_class, azure, headers
# (lower-cased names), body / body_text / multipart, status, fault.
sub requests
{
	my ($self, $since) = @_;
	my $path = '/_emulator/requests';
	$path .= '?since=' . int($since) if defined $since;
	my $r = $self->control('GET', $path);
	return ref $r eq 'HASH' ? $r->{requests} : [];
}

sub clear_requests { return shift->control('DELETE', '/_emulator/requests'); }

# Requests seen for a templated route, e.g. 'POST /v1/files', by status or all.
sub count
{
	my ($self, $route, $status) = @_;
	my $r = $self->stats->{requests}{$route} // {};
	return $r->{$status} // 0 if defined $status;
	my $n = 0;
	$n += $_ for values %$r;
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

package VsTest::Hostile;

use strict;
use warnings;
use File::Temp qw(tempdir);
use Time::HiRes qw(usleep);
use POSIX ();

# test/hostile/hostile.pl in a directory of its own; answers by path mode.
sub start
{
	my ($class) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $top = $ENV{TESTDIR} // '.';
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/stdout");
		open(STDERR, '>', "$dir/stderr");
		exec('perl', "$top/test/hostile/hostile.pl", $dir) or POSIX::_exit(1);
	}
	for (1 .. 400) { last if -s "$dir/port"; usleep(25_000); }
	die "hostile server did not start" unless -s "$dir/port";
	open(my $fh, '<', "$dir/port") or die;
	my $port = <$fh>;
	chomp $port;
	close $fh;
	return bless { pid => $pid, port => $port, dir => $dir }, $class;
}

sub url { my ($self, $mode) = @_; return "http://127.0.0.1:$self->{port}/$mode/v1"; }
sub port { return shift->{port}; }

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
