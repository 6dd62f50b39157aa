#!/usr/bin/perl
# holdpolls.pl DIR: a server that makes file batches and never answers a
# poll of one. POST /files: a file; POST /vector_stores/<id>/file_batches: a
# batch in progress; GET /vector_stores/<id>/file_batches/<batch>: held (never
# answered, for an hour); anything else 400. Logs one line per request to
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
		if ($method eq 'GET' && $path =~ m{/file_batches/[^/?]+$}) { sleep 3600; return; }
		my ($code, $out);
		if ($method eq 'POST' && $path =~ m{/files$}) {
			$code = 200; my $id = sprintf("file-%d%06d", $$, ++$n);
			$out = qq({"id":"$id","object":"file","bytes":5,"created_at":1,"filename":"x.txt","purpose":"assistants","status":"processed"});
		} elsif ($method eq 'POST' && $path =~ m{/vector_stores/([^/]+)/file_batches$}) {
			$code = 200; my $id = sprintf("vsfb_%d%06d", $$, ++$n);
			$out = qq({"id":"$id","object":"vector_store.files_batch","created_at":1,"vector_store_id":"$1","status":"in_progress","file_counts":{"in_progress":1,"completed":0,"failed":0,"cancelled":0,"total":1}});
		} else { $code = 400; $out = '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}'; }
		syswrite($c, "HTTP/1.1 $code X\r\nContent-Type: application/json\r\nContent-Length: " . length($out) . "\r\n\r\n$out");
	}
}
$SIG{TERM} = sub { POSIX::_exit(0) };
while (1) { my $c = $srv->accept or next; my $pid = fork(); if (defined $pid && $pid == 0) { close $srv; serve($c); POSIX::_exit(0); } close $c; }
