#!/usr/bin/perl
# A hostile HTTP server for the tests: it answers every request in the way
# its first path segment names, so a test points vectorstore.base_url at
# http://127.0.0.1:PORT/<mode>/v1 and calls any function.
#
#   perl test/hostile/hostile.pl DIR     writes DIR/port and DIR/canary_port,
#                                        logs "<mode> METHOD PATH" to DIR/requests
#                                        and every connection to the canary port
#                                        to DIR/canary; runs until killed.
#
# Modes (see %json and the if-chain in answer()):
#   empty        200 with an empty body
#   notjson      200 text/html
#   json-<name>  200 with a canned JSON body of wrong field types (%json)
#   deep         200, arrays nested 100,000 deep
#   huge         200, 4 MB of valid JSON (set max_response_size below it)
#   badutf8      200, a JSON string holding invalid UTF-8
#   nul          200, a JSON string holding a NUL byte
#   endless      200, chunked, an endless stream of chunks
#   trickle      200, one byte every 200 ms, forever
#   redirect     302 / 307 to the canary port (must not be followed)
#   hugeheader   200 with a 1 MB response header
#   errhtml      500 with an HTML body;  errweird  400 {"error": "a string"}
#   pager        an endless list: each page one new item and has_more
#   close        closes the connection without answering
#   quota        429 insufficient_quota (the account's quota is used up), Retry-After: 0
#   ratelimited  429 rate_limit_exceeded, Retry-After: 0
#   echo         400 whose error fields (message, type, code, param) and
#                response headers (x-request-id, x-echo, openai-organization)
#                carry every request header value (the key included); the
#                x-request-id starts with 100 bytes of padding, so a client
#                that keeps 127 bytes of it cuts the key in the middle
#   echo401      the same with status 401
#   echotext     500 text/plain: 480 bytes of padding, then every header
#                value (an excerpt of 500 bytes cuts the key in the middle)
#   echo200      200 whose object's "object" and "status" fields are the
#                request's header values (a success path naming them in an error)
#   gzipbomb     200, Content-Encoding: gzip, 61 kB that inflate to 60 MB
#   nulesc       200, a file whose id holds an escaped NUL (\u0000)
#   stall        never answers: holds the connection until the client goes
#                away (at most 120 s)
# Only 127.0.0.1; each connection is served by its own child process.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Compress::Gzip qw(gzip $GzipError);
use POSIX ();

my $dir = shift or die "usage: hostile.pl DIR\n";
$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';

sub listener
{
	my $s = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1', LocalPort => 0,
		ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
	return $s;
}
my $srv = listener();
my $canary = listener();

sub append { my ($file, $line) = @_; open(my $fh, '>>', "$dir/$file") or return; print $fh "$line\n"; close $fh; }

sub write_atomic
{
	my ($name, $val) = @_;
	open(my $fh, '>', "$dir/$name.tmp") or die; print $fh "$val\n"; close $fh;
	rename("$dir/$name.tmp", "$dir/$name") or die;
}

my $canary_port = $canary->sockport;
write_atomic('canary_port', $canary_port);
write_atomic('port', $srv->sockport);

my %json = (
	'id-number'        => '{"id":123,"object":"vector_store","created_at":1,"name":"n","status":"completed","usage_bytes":0,"file_counts":{"in_progress":0,"completed":0,"failed":0,"cancelled":0,"total":0}}',
	'created-string'   => '{"id":"vs_1","object":"vector_store","created_at":"yesterday","name":"n","status":"completed","usage_bytes":0,"file_counts":{"in_progress":0,"completed":0,"failed":0,"cancelled":0,"total":0}}',
	'counts-array'     => '{"id":"vs_1","object":"vector_store","created_at":1,"name":"n","status":"completed","usage_bytes":0,"file_counts":[1,2,3]}',
	'name-object'      => '{"id":"vs_1","object":"vector_store","created_at":1,"name":{"a":1},"status":"completed","usage_bytes":0,"file_counts":{"total":0}}',
	'usage-string'     => '{"id":"vs_1","object":"vector_store","created_at":1,"name":"n","status":"completed","usage_bytes":"lots","file_counts":{"total":0}}',
	'created-huge'     => '{"id":"vs_1","object":"vector_store","created_at":1e300,"name":"n","status":"completed","usage_bytes":0,"file_counts":{"total":0}}',
	'object-wrong'     => '{"id":"vs_1","object":"file","created_at":1}',
	'data-object'      => '{"object":"list","data":{"id":"vs_1"},"first_id":null,"last_id":null,"has_more":false}',
	'data-items'       => '{"object":"list","data":[1,"two",null,[]],"first_id":null,"last_id":null,"has_more":false}',
	'hasmore-loop'     => '{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":true}',
	'score-string'     => '{"object":"vector_store.search_results.page","search_query":["q"],"data":[{"file_id":"file-1","filename":"a","score":"high","attributes":{},"content":[{"type":"text","text":"x"}]}],"has_more":false,"next_page":null}',
	'content-object'   => '{"object":"vector_store.search_results.page","search_query":["q"],"data":[{"file_id":"file-1","filename":"a","score":0.5,"attributes":{},"content":{"type":"text"}}],"has_more":false,"next_page":null}',
	'toplevel-array'   => '[{"id":"vs_1"}]',
	'toplevel-string'  => '"vs_1"',
	'trailing-garbage' => '{"id":"vs_1","object":"vector_store","created_at":1} trailing',
	'file-bytes-number'=> '{"id":"file-1","object":"file","bytes":"12","created_at":1,"filename":"a","purpose":"assistants","status":"processed"}',
	'status-number'    => '{"id":"file-1","object":"vector_store.file","created_at":1,"vector_store_id":"vs_1","status":3,"usage_bytes":0,"last_error":null}',
	'lasterror-string' => '{"id":"file-1","object":"vector_store.file","created_at":1,"vector_store_id":"vs_1","status":"failed","usage_bytes":0,"last_error":"boom"}',
	'deleted-string'   => '{"id":"vs_1","object":"vector_store.deleted","deleted":"yes"}',
);

sub respond
{
	my ($c, $status, $headers, $body) = @_;
	my $reason = { 200 => 'OK', 302 => 'Found', 307 => 'Temporary Redirect', 400 => 'Bad Request', 500 => 'Internal Server Error' }->{$status} // 'X';
	my $h = "HTTP/1.1 $status $reason\r\nConnection: close\r\n";
	$h .= "$_\r\n" for @$headers;
	$h .= "Content-Length: " . length($body) . "\r\n" if defined $body;
	print $c $h . "\r\n";
	print $c $body if defined $body;
}

# 60 MB of JSON white space, gzipped once (about 61 kB)
my $bomb;
{
	my $spaces = '{' . (' ' x (60 << 20)) . '}';
	gzip(\$spaces => \$bomb) or die "gzip: $GzipError";
}

# Values of the request's headers that may carry a secret, space separated.
sub header_values
{
	my ($h) = @_;
	my @skip = qw(host accept content-type content-length user-agent expect accept-encoding openai-beta
	  x-stainless-retry-count x-stainless-poll-helper);
	my %skip = map { $_ => 1 } @skip;
	return join(' ', map { $h->{$_} } grep { !$skip{$_} } sort keys %$h);
}

sub json_str { my ($s) = @_; $s =~ s/(["\\])/\\$1/g; $s =~ s/[\x00-\x1f]/?/g; return $s; }

sub answer
{
	my ($c, $mode, $method, $path, $h) = @_;
	my @json = ('Content-Type: application/json');
	if ($mode eq 'empty') { respond($c, 200, \@json, ''); }
	elsif ($mode eq 'notjson') { respond($c, 200, ['Content-Type: text/html'], "<html><body>Hello</body></html>\n"); }
	elsif ($mode =~ /^json-(.+)$/ && exists $json{$1}) { respond($c, 200, \@json, $json{$1}); }
	elsif ($mode eq 'deep') { respond($c, 200, \@json, '{"id":' . ('[' x 100_000) . (']' x 100_000) . '}'); }
	elsif ($mode eq 'huge') { respond($c, 200, \@json, '{"id":"vs_1","pad":"' . ('x' x (4 << 20)) . '"}'); }
	elsif ($mode eq 'badutf8') { respond($c, 200, \@json, "{\"id\":\"vs_\xff\xfe\xc0\x80\",\"object\":\"vector_store\",\"created_at\":1,\"name\":\"\xed\xa0\x80\"}"); }
	elsif ($mode eq 'nul') { respond($c, 200, \@json, "{\"id\":\"vs_1\",\"object\":\"vector_store\",\"created_at\":1,\"name\":\"a\0b\"}"); }
	elsif ($mode eq 'endless' || $mode eq 'trickle')
	{
		print $c "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
		my $chunk = $mode eq 'endless' ? ' ' x 16384 : ' ';
		my $t0 = time;
		print $c sprintf("%x\r\n%s\r\n", 1, '{');
		while (time - $t0 < 60)
		{
			last unless print $c sprintf("%x\r\n%s\r\n", length($chunk), $chunk);
			select(undef, undef, undef, 0.2) if $mode eq 'trickle';
		}
	}
	elsif ($mode eq 'redirect')
	{
		my $status = $method eq 'GET' ? 302 : 307;
		respond($c, $status, [ "Location: http://127.0.0.1:$canary_port$path", @json ],
			'{"error":{"message":"moved","type":"redirect","param":null,"code":null}}');
	}
	elsif ($mode eq 'hugeheader') { respond($c, 200, [ 'X-Junk: ' . ('a' x (1 << 20)), @json ], '{"id":"vs_1"}'); }
	elsif ($mode eq 'errhtml') { respond($c, 500, ['Content-Type: text/html'], "<html>\x00\xff oops</html>"); }
	elsif ($mode eq 'errweird') { respond($c, 400, \@json, '{"error":"a string","message":123}'); }
	elsif ($mode eq 'pager')
	{
		# an endless list: every page has one new item and has_more
		my ($after) = $path =~ /[?&]after=vs_(\d+)/;
		my $n = ($after // 0) + 1;
		respond($c, 200, \@json, qq({"object":"list","data":[{"id":"vs_$n","object":"vector_store","created_at":1,"name":"p","status":"completed","usage_bytes":0,"file_counts":{"total":0}}],"first_id":"vs_$n","last_id":"vs_$n","has_more":true}));
	}
	elsif ($mode eq 'quota')
	{
		respond($c, 429, [ 'Retry-After: 0', @json ],
			'{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}');
	}
	elsif ($mode eq 'ratelimited')
	{
		respond($c, 429, [ 'Retry-After: 0', @json ],
			'{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}');
	}
	elsif ($mode eq 'close') { }
	elsif ($mode eq 'echo' || $mode eq 'echo401')
	{
		my $v = json_str(header_values($h));
		my $hv = header_values($h);
		$hv =~ s/[\x00-\x1f]/?/g;
		respond($c, $mode eq 'echo' ? 400 : 401,
			[ @json, 'x-request-id: ' . ('r' x 100) . $hv, "x-echo: $hv", "openai-organization: $hv" ],
			qq({"error":{"message":"you sent: $v","type":"type: $v","code":"code: $v","param":"param: $v"}}));
	}
	elsif ($mode eq 'echotext')
	{
		respond($c, 500, ['Content-Type: text/plain'], ('p' x 480) . header_values($h));
	}
	elsif ($mode eq 'echo200')
	{
		my $v = json_str(header_values($h));
		respond($c, 200, \@json,
			qq({"id":"vs_1","object":"$v","created_at":1,"name":"n","status":"$v","usage_bytes":0,"file_counts":{"in_progress":0,"completed":0,"failed":0,"cancelled":0,"total":0}}));
	}
	elsif ($mode eq 'gzipbomb')
	{
		respond($c, 200, [ @json, 'Content-Encoding: gzip' ], $bomb);
	}
	elsif ($mode eq 'nulesc')
	{
		respond($c, 200, \@json,
			'{"id":"file-abc\\u0000/../x","object":"file","bytes":1,"created_at":1,"filename":"a\\u0000b","purpose":"assistants","status":"processed"}');
	}
	elsif ($mode eq 'stall')
	{
		# wait for the client to close (EOF) or 120 s, whichever comes first
		my $t0 = time;
		while (time - $t0 < 120)
		{
			my $rin = '';
			vec($rin, fileno($c), 1) = 1;
			next unless select(my $rout = $rin, undef, undef, 1) > 0;
			last unless sysread($c, my $buf, 4096);
		}
	}
	else { respond($c, 404, \@json, '{"error":{"message":"unknown hostile mode","type":"invalid_request_error","param":null,"code":null}}'); }
}

sub serve
{
	my ($c) = @_;
	my $head = '';
	while ($head !~ /\r\n\r\n/)
	{
		my $n = sysread($c, $head, 65536, length $head);
		return if !$n || length($head) > 1 << 20;
	}
	my ($hdr, $rest) = split /\r\n\r\n/, $head, 2;
	my ($method, $path) = $hdr =~ m{^(\S+) (\S+) HTTP/};
	return unless defined $path;
	# read (and drop) the request body
	if ($hdr =~ /^Content-Length:\s*(\d+)/mi)
	{
		my $left = $1 - length($rest);
		while ($left > 0) { my $n = sysread($c, my $buf, 65536); last unless $n; $left -= $n; }
	}
	my ($mode) = $path =~ m{^/([^/?]+)};
	$mode //= '';
	my %h;
	for my $line (split /\r\n/, $hdr)
	{
		next unless $line =~ /^([^:\s]+):\s*(.*)$/;
		$h{lc $1} = $2;
	}
	append('requests', "$mode $method $path");
	answer($c, $mode, $method, $path, \%h);
}

# the canary: any connection at all is recorded
my $canary_pid = fork();
if (defined $canary_pid && $canary_pid == 0)
{
	close $srv;
	while (my $c = $canary->accept) { append('canary', 'connection'); close $c; }
	POSIX::_exit(0);
}
close $canary;
$SIG{TERM} = sub { kill 'TERM', $canary_pid if $canary_pid; POSIX::_exit(0); };

while (1)
{
	my $c = $srv->accept or next;
	my $pid = fork();
	if (defined $pid && $pid == 0)
	{
		close $srv;
		serve($c);
		close $c;
		POSIX::_exit(0);
	}
	close $c;
}
