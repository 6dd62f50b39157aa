# Serve: the HTTP/1.1 loop the small hostile servers share (hangone.pl,
# stallfiles.pl, bigfilelist.pl), and the JSON bodies they answer with.
#
#   use FindBin; use lib $FindBin::Bin; use Serve;
#   Serve::run($dir, sub {
#       my ($method, $path, $body) = @_;
#       return (200, Serve::file_json(Serve::next_id('file-')));
#       return;              # (nothing) holds the request for an hour
#   }, port => $ENV{HPORT});
#
# run() listens on 127.0.0.1 (port 0 unless given), writes DIR/port
# atomically, serves each connection in a child of its own (keep-alive:
# requests read one after another, with Content-Length and
# "Expect: 100-continue"), logs "METHOD PATH" to DIR/requests before it
# asks the handler, and exits on TERM. Stop it by its process group.
package Serve;

use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();

# one counter per connection's child (it counts from 0 in each)
my $n = 0;

# PREFIX, the child's pid and the next number: file-12345000001
sub next_id { my ($prefix) = @_; return sprintf("%s%d%06d", $prefix, $$, ++$n); }

sub file_json
{
	my ($id) = @_;
	return qq({"id":"$id","object":"file","bytes":5,"created_at":1,"filename":"x.txt","purpose":"assistants","status":"processed"});
}

# a batch of one file; STATUS (in_progress, completed, failed, cancelled)
# also names the count that holds it
sub batch_json
{
	my ($id, $vs, $status) = @_;
	my %c = map { ($_ => ($_ eq $status ? 1 : 0)) } qw(in_progress completed failed cancelled);
	return qq({"id":"$id","object":"vector_store.files_batch","vector_store_id":"$vs","status":"$status","created_at":1,)
	  . qq("file_counts":{"in_progress":$c{in_progress},"completed":$c{completed},"failed":$c{failed},"cancelled":$c{cancelled},"total":1}});
}

sub error_json { return '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}'; }

sub serve
{
	my ($c, $dir, $handler) = @_;
	my $buf = '';
	while (1)
	{
		while ($buf !~ /\r\n\r\n/) { my $r = sysread($c, $buf, 65536, length $buf); return if !$r; }
		my ($hdr, $rest) = split /\r\n\r\n/, $buf, 2;
		my ($method, $path) = $hdr =~ m{^(\S+) (\S+) HTTP/};
		my ($len) = $hdr =~ /^Content-Length:\s*(\d+)/mi; $len //= 0;
		syswrite($c, "HTTP/1.1 100 Continue\r\n\r\n") if $hdr =~ /^Expect:\s*100-continue/mi && length($rest) < $len;
		while (length($rest) < $len) { my $r = sysread($c, $rest, 65536, length $rest); return if !$r; }
		my $body = substr($rest, 0, $len); $buf = substr($rest, $len);
		open(my $fh, '>>', "$dir/requests"); print $fh "$method $path\n"; close $fh;
		my ($code, $out) = $handler->($method, $path, $body);
		if (!defined $code) { sleep 3600; return; }
		syswrite($c, "HTTP/1.1 $code X\r\nContent-Type: application/json\r\nContent-Length: " . length($out) . "\r\n\r\n$out");
	}
}

sub run
{
	my ($dir, $handler, %opt) = @_;
	$SIG{CHLD} = 'IGNORE'; $SIG{PIPE} = 'IGNORE';
	my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => ($opt{port} // 0), ReuseAddr => 1, Proto => 'tcp') or die;
	{ open(my $fh, '>', "$dir/port.tmp") or die; print $fh $srv->sockport, "\n"; close $fh; rename("$dir/port.tmp", "$dir/port"); }
	$SIG{TERM} = sub { POSIX::_exit(0) };
	while (1) { my $c = $srv->accept or next; my $pid = fork(); if (defined $pid && $pid == 0) { close $srv; serve($c, $dir, $handler); POSIX::_exit(0); } close $c; }
}

1;
