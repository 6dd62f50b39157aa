#!/usr/bin/perl
# bigfilelist.pl DIR: stallfiles.pl's server, but the batch's file list is
# answered: each page one file (a new id each time), "failed", whose
# last_error message is BIGMB MB (from the environment, default 60) of
# "A", has_more true. Logs one line per request to DIR/requests, writes
# DIR/port. 127.0.0.1 only, one child per connection. Stop it by its
# process group.
use strict; use warnings; use IO::Socket::INET; use POSIX ();
my $dir = shift or die;
$SIG{CHLD} = 'IGNORE'; $SIG{PIPE} = 'IGNORE';
my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1, Proto => 'tcp') or die;
{ open(my $fh, '>', "$dir/port.tmp") or die; print $fh $srv->sockport, "\n"; close $fh; rename("$dir/port.tmp", "$dir/port"); }
my $big = 'A' x (($ENV{BIGMB} // 60) * 1024 * 1024);
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
		$buf = substr($rest, $len);
		open(my $fh, '>>', "$dir/requests"); print $fh "$method $path\n"; close $fh;
		my ($code, $out) = (200, '');
		if ($method eq 'POST' && $path =~ m{/files$}) {
			my $id = sprintf("file-%d%06d", $$, ++$n);
			$out = qq({"id":"$id","object":"file","bytes":5,"created_at":1,"filename":"x.txt","purpose":"assistants","status":"processed"});
		} elsif ($method eq 'POST' && $path =~ m{/vector_stores/([^/]+)/file_batches$}) {
			my $b = sprintf("vsfb_%d%06d", $$, ++$n);
			$out = qq({"id":"$b","object":"vector_store.files_batch","vector_store_id":"$1","status":"in_progress","created_at":1,"file_counts":{"in_progress":1,"completed":0,"failed":0,"cancelled":0,"total":1}});
		} elsif ($method eq 'GET' && $path =~ m{/file_batches/[^/?]+/files}) {
			my $id = sprintf("file-x%d%06d", $$, ++$n);
			$out = qq({"object":"list","data":[{"id":"$id","object":"vector_store.file","status":"failed","last_error":{"code":"server_error","message":"$big"}}],"first_id":"$id","last_id":"$id","has_more":true});
		} elsif ($method eq 'GET' && $path =~ m{/vector_stores/([^/]+)/file_batches/([^/?]+)}) {
			$out = qq({"id":"$2","object":"vector_store.files_batch","vector_store_id":"$1","status":"failed","created_at":1,"file_counts":{"in_progress":0,"completed":0,"failed":1,"cancelled":0,"total":1}});
		} else { $code = 400; $out = '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}'; }
		syswrite($c, "HTTP/1.1 $code X\r\nContent-Type: application/json\r\nContent-Length: " . length($out) . "\r\n\r\n$out");
	}
}
$SIG{TERM} = sub { POSIX::_exit(0) };
while (1) { my $c = $srv->accept or next; my $pid = fork(); if (defined $pid && $pid == 0) { close $srv; serve($c); POSIX::_exit(0); } close $c; }
