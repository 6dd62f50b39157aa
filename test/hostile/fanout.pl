#!/usr/bin/perl
# A hostile server for the fan-out and search-table red-team tests
# (test/t/183_redteam_*.pl). Answers by the first path segment:
#   flood-N   POST .../search: a query that begins with "stall" is held
#             (never answered, until the client goes away, at most 120 s);
#             every other query gets N tiny results, whatever max_num_results
#   keys-N    GET  .../vector_stores/ID: a store; .../files: one file with N
#             attribute keys, each 76 bytes, alike in their first 70
#   keys-N-L  the same with keys of L bytes (L >= 7), alike but for the last 6
# Writes DIR/port; logs "<mode> METHOD PATH" to DIR/requests.
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();

my $dir = shift or die "usage: fanout.pl DIR\n";
$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';
my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => 0,
	ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
open(my $pf, '>', "$dir/port.tmp") or die; print $pf $srv->sockport, "\n"; close $pf;
rename("$dir/port.tmp", "$dir/port") or die;

sub answer
{
	my ($c, $status, $body) = @_;
	print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\nContent-Length: "
	  . length($body) . "\r\nConnection: close\r\n\r\n" . $body;
}

while (1)
{
	my $c = $srv->accept or next;
	my $pid = fork();
	if (!defined $pid) { close $c; next; }
	if ($pid) { close $c; next; }
	close $srv;
	local $/ = "\r\n";
	my $line = <$c> // POSIX::_exit(0);
	my ($method, $path) = split(/ /, $line);
	my $len = 0;
	while (my $h = <$c>)
	{
		last if $h eq "\r\n";
		$len = $1 if $h =~ /^content-length:\s*(\d+)/i;
	}
	my $body = '';
	read($c, $body, $len) if $len;
	if (open(my $lf, '>>', "$dir/requests")) { print $lf "$method $path $body\n"; close $lf; }
	if ($path =~ m{^/flood-(\d+)/v1/vector_stores/[^/]+/search})
	{
		my $n = $1;
		if ($body =~ /"query"\s*:\s*"stall/)
		{
			my $rin = '';
			vec($rin, fileno($c), 1) = 1;
			select(my $r = $rin, undef, undef, 120);
			POSIX::_exit(0);
		}
		my $hit = '{"file_id":"f","score":0.5,"content":[]}';
		my $b = '{"object":"vector_store.search_results.page","search_query":"q","data":['
		  . join(',', ($hit) x $n) . '],"has_more":false,"next_page":null}';
		answer($c, '200 OK', $b);
	}
	elsif ($path =~ m{^/keys-(\d+)(?:-(\d+))?/v1/vector_stores/([^/?]+)/files})
	{
		my ($n, $l) = ($1, $2 // 76);
		my $attrs = join(',', map { sprintf('"%s%06d":1', 'a' x ($l - 6), $_) } 1 .. $n);
		answer($c, '200 OK', '{"object":"list","data":[{"id":"file-k","object":"vector_store.file",'
			  . '"created_at":1,"vector_store_id":"vs_k","status":"completed","usage_bytes":1,'
			  . '"last_error":null,"attributes":{' . $attrs . '}}],"first_id":"file-k",'
			  . '"last_id":"file-k","has_more":false}');
	}
	elsif ($path =~ m{^/keys-\d+(?:-\d+)?/v1/vector_stores/([^/?]+)})
	{
		answer($c, '200 OK', '{"id":"vs_k","object":"vector_store","created_at":1,"name":"k",'
			  . '"status":"completed","usage_bytes":0,"file_counts":{"in_progress":0,"completed":1,'
			  . '"failed":0,"cancelled":0,"total":1}}');
	}
	else
	{
		answer($c, '404 Not Found', '{"error":{"message":"no","type":"invalid_request_error"}}');
	}
	close $c;
	POSIX::_exit(0);
}
