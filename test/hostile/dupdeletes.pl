#!/usr/bin/perl
# dupdeletes.pl DIR: a server that turns the sweep's duplicate deletes into
# many held requests. POST /files: remembers the first marked file name it
# is sent (vsjob-<token>-<job id>-<secret>_...) and answers with a file,
# except a body containing LOSE, whose connection it closes unanswered (the
# answer is lost: the worker sweeps). GET /files (first page): $ENV{NDUP} files named like the
# remembered one, each with an id of its own ("late duplicates"). DELETE
# /files/file-dup*: held (never answered). Anything else: 400. Logs one line
# per request to DIR/requests; writes DIR/port. 127.0.0.1 only, one child
# per connection. Stop it by its process group.
use strict; use warnings; use IO::Socket::INET; use POSIX ();
my $dir = shift or die;
my $ndup = $ENV{NDUP} // 5000;
$SIG{CHLD} = 'IGNORE'; $SIG{PIPE} = 'IGNORE';
my $srv = IO::Socket::INET->new(Listen => 1024, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1, Proto => 'tcp') or die;
{ open(my $fh, '>', "$dir/port.tmp") or die; print $fh $srv->sockport, "\n"; close $fh; rename("$dir/port.tmp", "$dir/port"); }
my $n = 0;
sub answer { my ($c, $code, $out) = @_; syswrite($c, "HTTP/1.1 $code X\r\nContent-Type: application/json\r\nContent-Length: " . length($out) . "\r\n\r\n$out"); }
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
		open(my $fh, '>>', "$dir/requests"); print $fh time(), " $method $path\n"; close $fh;
		if ($method eq 'POST' && $path =~ m{/files$}) {
			if ($body =~ /LOSE/) { return; }   # closed unanswered: the answer is lost
			my ($fn) = $body =~ /filename="(vsjob-[^"]+)"/;
			if ($fn && !-e "$dir/known") { open(my $k, '>', "$dir/known.tmp"); print $k $fn; close $k; rename("$dir/known.tmp", "$dir/known"); }
			my $id = sprintf("file-%d%06d", $$, ++$n);
			answer($c, 200, qq({"id":"$id","object":"file","bytes":5,"created_at":1,"filename":"x.txt","purpose":"assistants","status":"processed"}));
		} elsif ($method eq 'GET' && $path =~ m{/files(\?|$)}) {
			my $known = '';
			if (open(my $k, '<', "$dir/known")) { $known = <$k> // ''; close $k; }
			my @items;
			if ($known ne '' && $path !~ /after=/) {
				push @items, qq({"id":"file-dup$_","object":"file","bytes":5,"created_at":1,"filename":"$known","purpose":"assistants","status":"processed"}) for 1 .. $ndup;
			}
			answer($c, 200, '{"object":"list","data":[' . join(',', @items) . '],"has_more":false,'
				. '"first_id":' . (@items ? '"file-dup1"' : 'null') . ',"last_id":' . (@items ? qq("file-dup$ndup") : 'null') . '}');
		} elsif ($method eq 'DELETE' && $path =~ m{/files/file-dup}) {
			sleep 3600; return;
		} else {
			answer($c, 400, '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}');
		}
	}
}
$SIG{TERM} = sub { POSIX::_exit(0) };
while (1) { my $c = $srv->accept or next; my $pid = fork(); if (defined $pid && $pid == 0) { close $srv; serve($c); POSIX::_exit(0); } close $c; }
