#!/usr/bin/perl
# A hostile server in front of the emulator, for the worker's tests: it
# forwards every request to the emulator and changes the answers the way
# the first path segment names, so a credential whose base URL is
# http://127.0.0.1:PORT/<mode>/v1 talks to a server that misbehaves in one
# way and is otherwise a real one (the emulator's files, stores, batches).
#
#   perl test/hostile/proxy.pl DIR EMULATOR_PORT
#        writes DIR/port; logs "<mode> METHOD PATH STATUS" to DIR/requests;
#        runs until killed. Only 127.0.0.1; one child process per connection.
#
# Modes:
#   pass        forwards as it is
#   slashbatch  a file batch is created with an id holding "/" ("x/vsfb_...")
#   slashfile   POST /files answers with a file id holding "/"; listed files
#               whose name carries a worker marker are listed with such ids
#   endless     GET /files never ends: every page one new unmarked file and
#               has_more, whatever the cursor
#   poll0       a file batch never finishes and asks to be polled again at
#               once (openai-poll-after-ms: 0)
#   lost        every POST /files is carried out and then answered 500 (the
#               answer is lost; the file exists)
#   failecho    a file batch fails, and each of its listed files failed with a
#               last_error whose message echoes the request's Authorization
#               header (a gateway quoting the request it could not serve)
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();

my ($dir, $emu_port) = @ARGV;
die "usage: proxy.pl DIR EMULATOR_PORT\n" unless $dir && $emu_port;
$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';

my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => 0,
	ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
{
	open(my $fh, '>', "$dir/port.tmp") or die;
	print $fh $srv->sockport, "\n";
	close $fh;
	rename("$dir/port.tmp", "$dir/port") or die;
}

sub logline
{
	my ($line) = @_;
	open(my $fh, '>>', "$dir/requests") or return;
	print $fh "$line\n";
	close $fh;
}

# Read one HTTP request: (method, target, \@headers, body) or () at EOF.
sub read_request
{
	my ($c) = @_;
	my $head = '';
	while ($head !~ /\r\n\r\n/)
	{
		my $n = sysread($c, my $buf, 1);
		return () unless $n;
		$head .= $buf;
	}
	my ($line, @hdrs) = split /\r\n/, $head;
	my ($method, $target) = split / /, $line;
	my %h = map { my ($k, $v) = split /:\s*/, $_, 2; (lc($k) => $v) } grep { length } @hdrs;
	if (($h{expect} // '') =~ /100-continue/i)
	{
		syswrite($c, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	my $body = '';
	if (defined $h{'content-length'})
	{
		my $want = $h{'content-length'};
		while (length($body) < $want)
		{
			my $n = sysread($c, my $buf, $want - length($body));
			last unless $n;
			$body .= $buf;
		}
	}
	elsif (($h{'transfer-encoding'} // '') =~ /chunked/i)
	{
		for (;;)
		{
			my $sz = '';
			while ($sz !~ /\r\n$/) { sysread($c, my $b, 1) or last; $sz .= $b; }
			my $n = hex($sz);
			my $chunk = '';
			while (length($chunk) < $n + 2) { sysread($c, my $b, $n + 2 - length($chunk)) or last; $chunk .= $b; }
			last if $n == 0;
			$body .= substr($chunk, 0, $n);
		}
	}
	return ($method, $target, \@hdrs, $body);
}

# Forward to the emulator; returns (status, \%headers, body).
sub forward
{
	my ($method, $target, $hdrs, $body) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $emu_port, Proto => 'tcp',
		Timeout => 60) or return (502, {}, '{"error":{"message":"proxy: emulator unreachable"}}');
	my $req = "$method $target HTTP/1.1\r\n";
	for my $h (@$hdrs)
	{
		next if $h =~ /^(connection|keep-alive|content-length|transfer-encoding|expect):/i;
		$req .= "$h\r\n";
	}
	$req .= "Connection: close\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body;
	print $s $req;
	local $/;
	my $resp = <$s> // '';
	close $s;
	my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
	$rbody //= '';
	my ($status) = $head =~ m{^HTTP/\S+ (\d+)};
	my %rh;
	for my $l (split /\r\n/, $head)
	{
		my ($k, $v) = split /:\s*/, $l, 2;
		$rh{lc $k} = $v if defined $v;
	}
	if (($rh{'transfer-encoding'} // '') =~ /chunked/i)
	{
		my $out = '';
		while ($rbody =~ s/^([0-9a-fA-F]+)\r\n//)
		{
			my $n = hex($1);
			last if $n == 0;
			$out .= substr($rbody, 0, $n);
			$rbody = substr($rbody, $n + 2);
		}
		$rbody = $out;
	}
	return ($status // 502, \%rh, $rbody);
}

sub respond
{
	my ($c, $status, $hdrs, $body) = @_;
	my $out = "HTTP/1.1 $status X\r\nContent-Type: application/json\r\nConnection: close\r\n";
	$out .= "$_: $hdrs->{$_}\r\n" for grep { defined $hdrs->{$_} } keys %$hdrs;
	$out .= "Content-Length: " . length($body) . "\r\n\r\n" . $body;
	syswrite($c, $out);
}

my $endless = 0;

sub serve
{
	my ($c) = @_;
	my ($method, $target, $hdrs, $body) = read_request($c);
	return unless $method;
	my ($mode, $rest) = $target =~ m{^/([a-z0-9]+)(/.*)$};
	unless ($mode)
	{
		respond($c, 404, {}, '{"error":{"message":"no mode"}}');
		return;
	}
	my $path = $rest;
	$path =~ s/\?.*//;
	my ($status, $rh, $rbody);
	my %extra;

	if ($mode eq 'endless' && $method eq 'GET' && $path eq '/v1/files')
	{
		my $n = int(rand(1e9));
		($status, $rbody) = (200, qq({"object":"list","data":[{"id":"file-endless$n","object":"file","bytes":1,"created_at":1,"filename":"not-ours-$n.txt","purpose":"assistants"}],"first_id":"file-endless$n","last_id":"file-endless$n","has_more":true}));
	}
	else
	{
		($status, $rh, $rbody) = forward($method, $rest, $hdrs, $body);
		if ($mode eq 'slashbatch' && $method eq 'POST' && $path =~ m{/file_batches$} && $status == 200)
		{
			$rbody =~ s/"id"\s*:\s*"vsfb_/"id":"x\/vsfb_/;
		}
		elsif ($mode eq 'slashfile' && $method eq 'POST' && $path eq '/v1/files' && $status == 200)
		{
			$rbody =~ s/"id"\s*:\s*"file-/"id":"x\/file-/;
		}
		elsif ($mode eq 'slashfile' && $method eq 'GET' && $path eq '/v1/files' && $status == 200)
		{
			$rbody =~ s/"id"\s*:\s*"(file-[^"]*)"(\s*,\s*"object"\s*:\s*"file"[^}]*"filename"\s*:\s*"vsjob-)/"id":"x\/$1"$2/g;
		}
		elsif ($mode eq 'poll0' && $method eq 'GET' && $path =~ m{/file_batches/[^/]+$} && $status == 200)
		{
			$rbody =~ s/"status"\s*:\s*"[a-z_]+"/"status":"in_progress"/;
			$extra{'openai-poll-after-ms'} = '0';
		}
		elsif ($mode eq 'failecho' && $method eq 'GET' && $path =~ m{/file_batches/[^/]+$} && $status == 200)
		{
			$rbody =~ s/"status"\s*:\s*"[a-z_]+"/"status":"failed"/;
			$rbody =~ s/"completed"\s*:\s*\d+/"completed":0/;
		}
		elsif ($mode eq 'failecho' && $method eq 'GET' && $path =~ m{/file_batches/[^/]+/files$} && $status == 200)
		{
			my ($auth) = map { /^authorization:\s*(.*)$/i ? $1 : () } @$hdrs;
			$auth //= '';
			$auth =~ s/(["\\])/\\$1/g;
			$rbody =~ s/"status"\s*:\s*"[a-z_]+"/"status":"failed"/g;
			$rbody =~ s/"last_error"\s*:\s*null/"last_error":{"code":"server_error","message":"could not fetch with $auth"}/g;
		}
		elsif ($mode eq 'lost' && $method eq 'POST' && $path eq '/v1/files')
		{
			($status, $rbody) = (500, '{"error":{"message":"the answer was lost (proxy)","type":"server_error"}}');
		}
	}
	logline("$mode $method $path $status");
	respond($c, $status, \%extra, $rbody);
}

for (;;)
{
	my $c = $srv->accept or next;
	my $pid = fork();
	if (!defined $pid)
	{
		close $c;
		next;
	}
	if ($pid == 0)
	{
		close $srv;
		serve($c);
		close $c;
		POSIX::_exit(0);
	}
	close $c;
}
