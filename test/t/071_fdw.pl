# Search tables (vectorstore_fdw) against servers that do not answer as the
# API does. A server that ignores the filter and max_num_results: every row
# it returns is checked again, the wrong ones are left out (never shown), a
# WARNING says how many, EXPLAIN ANALYZE counts them, and a LIMIT is kept.
# Servers that send broken pages: a clear error (08P01) for each, no crash,
# and the session goes on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use Time::HiRes qw(usleep);
use POSIX ();
use VsTest;

# --- a small HTTP server: the first path segment says how to answer
my $page = sub {
	my ($data) = @_;
	return '{"object":"vector_store.search_results.page","search_query":["q"],"data":['
	  . $data . '],"has_more":false,"next_page":null}';
};
my $hit = sub {
	my ($id, $score, $attrs) = @_;
	return qq({"file_id":"file-$id","filename":"$id.txt","score":$score,"attributes":$attrs,)
	  . qq("content":[{"type":"text","text":"text of $id"}]});
};
my %answer = (
	# every file, whatever was asked: team a, team b, no team, team 7 (a number)
	liar => $page->(join(',',
		$hit->('a', 0.9, '{"team":"a","year":2024}'),
		$hit->('b', 0.8, '{"team":"b","year":2020}'),
		$hit->('none', 0.7, '{"year":2024}'),
		$hit->('seven', 0.6, '{"team":7}'))),
	'score-string' => $page->($hit->('a', '"high"', '{}')),
	'data-object'  => '{"object":"vector_store.search_results.page","data":{"a":1}}',
	'attrs-array'  => $page->($hit->('a', 0.5, '["team"]')),
	'no-file-id'   => $page->('{"filename":"x","score":0.5,"content":[]}'),
	'not-json'     => '<html>no</html>',
	'int-fraction' => $page->($hit->('a', 0.5, '{"year":2024.5}')),
);

my $dir = tempdir(CLEANUP => 1);
my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
	ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $port = $srv->sockport;
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	$SIG{PIPE} = 'IGNORE';
	while (my $c = $srv->accept)
	{
		my ($head, $len) = ('', 0);
		while (my $l = <$c>)
		{
			$head .= $l;
			$len = $1 if $l =~ /^content-length:\s*(\d+)/i;
			last if $l =~ /^\r?\n$/;
		}
		my $body = '';
		read($c, $body, $len) if $len;
		my ($mode) = $head =~ m{^\S+ /([^/]+)/};
		if (open(my $fh, '>>', "$dir/requests")) { print $fh "$mode $body\n"; close $fh; }
		my $out = $answer{ $mode // '' } // '{"error":{"message":"no such mode"}}';
		my $type = ($mode // '') eq 'not-json' ? 'text/html' : 'application/json';
		print $c "HTTP/1.1 200 OK\r\nContent-Type: $type\r\nContent-Length: "
		  . length($out) . "\r\nConnection: close\r\n\r\n$out";
		close $c;
	}
	POSIX::_exit(0);
}
close $srv;

my $emu = VsTest::Emulator->start();
my $node = VsTest::new_node('fdw', $emu);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE FOREIGN TABLE t (query text, file_id text, score float8, team text, year int)
		SERVER vectorstore OPTIONS (vector_store_id 'vs_1');
});

# one session per mode, pointed at the server
sub run
{
	my ($mode, $sql) = @_;
	my ($out, $err);
	my $rc = $node->psql('postgres',
		"SET vectorstore.base_url = 'http://127.0.0.1:$port/$mode/v1'; SET vectorstore.max_retries = 0; $sql",
		stdout => \$out, stderr => \$err);
	return ($rc, $out, $err);
}

# --- a server that ignores the filter: the wrong rows are left out
my ($rc, $out, $err) = run('liar', "SELECT file_id FROM t WHERE query = 'x' AND team = 'a' ORDER BY 1");
is($rc, 0, 'a search against a server that ignores the filter succeeds');
is($out, 'file-a', 'only the row that satisfies team = \'a\' is shown');
like($err, qr/WARNING:  the vector store API returned 3 search results that do not satisfy the conditions sent; they were left out/,
	'a WARNING says how many results were left out');
like(slurp_file("$dir/requests"), qr/"filters":\{"type":"eq","key":"team","value":"a"\}/,
	'the filter was sent');

($rc, $out, $err) = run('liar', "SELECT file_id FROM t WHERE query = 'x' AND team <> 'a' ORDER BY 1");
is($out, 'file-b', '<>: a missing team and a team of another type are not different from \'a\' in SQL');

($rc, $out, $err) = run('liar',
	"SELECT file_id FROM t WHERE query = 'x' AND year >= 2020 ORDER BY score DESC LIMIT 2");
is($out, "file-a\nfile-b", 'a LIMIT sent as max_num_results is kept when the server returns more');

($rc, $out, $err) = run('liar',
	"SELECT file_id FROM t WHERE query = 'x' AND team = 'a' AND year = 2024 ORDER BY score DESC LIMIT 3");
is($out, 'file-a', 'with a LIMIT sent, fewer rows come back, never wrong ones');

($rc, $out, $err) = run('liar',
	"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM t WHERE query = 'x' AND team = 'b'");
like($out, qr/Requests: 1\n.*Results: 4\n.*Results Rejected by Recheck: 3/s,
	'EXPLAIN ANALYZE counts requests, results and the results rejected');

($rc, $out, $err) = run('liar', "SELECT count(*) FROM t WHERE query = 'x' AND score >= 0.75");
is($out, '2', 'score >= x: results below the threshold are left out too');

# --- broken pages: a clear error, no crash, the session goes on
for my $case (
	[ 'score-string', qr/Field "score" of a search result must be a number/ ],
	[ 'data-object',  qr/Field "data" of a search results page must be an array/ ],
	[ 'attrs-array',  qr/Field "attributes" of a search result must be an object/ ],
	[ 'no-file-id',   qr/A search result has no file_id/ ],
	[ 'not-json',     qr/invalid response from the vector store API/ ],
	[ 'int-fraction', qr/attribute "year" of file "file-a" is 2024.5, which column "year" \(integer\) cannot hold/ ])
{
	my ($mode, $re) = @$case;
	($rc, $out, $err) = run($mode, "SELECT * FROM t WHERE query = 'x'; SELECT 'alive'");
	like($err, $re, "$mode: the error says what is wrong");
	like($err, qr/ERROR:  \S/, "$mode: an ERROR, not a crash");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up after every broken page');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
	'no backend crashed');

$node->stop;
kill 'TERM', $pid;
waitpid($pid, 0);
$emu->stop;
done_testing();
