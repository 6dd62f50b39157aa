#!/usr/bin/perl
# bighold.pl DIR: a server that answers every request whose body contains
# BIG with a status line and headers declaring a 200,000,000-byte body, sends
# one byte of it and holds the rest (for an hour); every other request: POST
# /files with a file, anything else 400. Logs one line per request to
# DIR/requests, writes DIR/port. 127.0.0.1 only, one child per connection
# (HTTP/1.1 keep-alive). Stop it by its process group.
use strict; use warnings; use IO::Socket::INET; use POSIX ();
my $dir = shift or die;
$SIG{CHLD} = 'IGNORE'; $SIG{PIPE} = 'IGNORE';
my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => ($ENV{HPORT} // 0), ReuseAddr => 1, Proto => 'tcp') or die;
{ open(my $fh, '>', "$dir/port.tmp") or die; print $fh $srv->sockport, "\n"; close $fh; rename("$dir/port.tmp", "$dir/port"); }
my $n = 0;
sub serve {
	my ($c) = @_;
	my $buf = '';
	while (1) {
		while ($buf !~ /\r\n\r\n/) { my $r = sysread($c, $buf, 65536, length $buf); return if !$r; }
		my ($hdr, $rest) = split /\r\n\r\n/, $buf, 2;
		my ($method, $path) = $hdr =~ m{^(\S+) (\S+) HTTP/};
		my ($len) = $hdr =~ /^Content-Length:\s*(\d+)/mi; $len //= 0;
		syswrite($c, "HTTP/1.1 100 Continue\r\n\r\n") if $hdr =~ /^Expect:\s*100-continue/mi && length($rest) < $len;
		while (length($rest) < $len) { my $r = sysread($c, $rest, 65536, length $rest); return if !$r; }
		my $body = substr($rest, 0, $len); $buf = substr($rest, $len);
		open(my $fh, '>>', "$dir/requests"); print $fh "$method $path\n"; close $fh;
		if ($body =~ /BIG/) {
			syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\n\r\n{");
			sleep 3600; return;
		}
		my ($code, $out);
		if ($method eq 'POST' && $path =~ m{/files$}) {
			$code = 200; my $id = sprintf("file-%d%06d", $$, ++$n);
			$out = qq({"id":"$id","object":"file","bytes":5,"created_at":1,"filename":"x.txt","purpose":"assistants","status":"processed"});
		} else { $code = 400; $out = '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}'; }
		syswrite($c, "HTTP/1.1 $code X\r\nContent-Type: application/json\r\nContent-Length: " . length($out) . "\r\n\r\n$out");
	}
}
$SIG{TERM} = sub { POSIX::_exit(0) };
while (1) { my $c = $srv->accept or next; my $pid = fork(); if (defined $pid && $pid == 0) { close $srv; serve($c); POSIX::_exit(0); } close $c; }
