# An OpenAI-compatible server with fields of its own (as Llama Stack has):
# store creation takes embedding_model / embedding_dimension / provider_id,
# and its search results carry a chunk id and metadata the OpenAI API does
# not have. request_options.extra_body sends the server's fields; the rows
# keep the server's answer whole in raw, and the content parts in order.
# The server is a few lines of Perl here, answering canned JSON and
# recording each request as it arrived.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use File::Temp qw(tempdir);

my $dir = tempdir(CLEANUP => 1);
my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
	ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $port = $srv->sockport;

my $search_page = encode_json({
	object => 'vector_store.search_results.page',
	search_query => ['refunds'],
	data => [
		{ file_id => 'file-a', filename => 'a.txt', score => 0.5, attributes => { lang => 'en' },
		  content => [ { type => 'text', text => 'part one' }, { type => 'text', text => 'part two' } ],
		  chunk_id => 'chunk_42', metadata => { source => 'faiss', page => 3 } },
		{ file_id => 'file-b', filename => 'b.txt', score => 0.9, attributes => undef,
		  content => [ { type => 'text', text => 'best' } ], chunk_id => 'chunk_7' },
	],
	has_more => JSON::PP::false, next_page => undef });

my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	# one connection at a time; every answer closes the connection
	while (my $c = $srv->accept)
	{
		my $head = '';
		while (defined(my $line = <$c>)) { $head .= $line; last if $line eq "\r\n"; }
		my ($method, $path) = $head =~ m{^(\S+) (\S+)};
		my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
		my $body = '';
		read($c, $body, $len) if $len;
		open(my $log, '>>', "$dir/requests") or die;
		print $log encode_json({ method => $method, path => $path, body => $body }) . "\n";
		close $log;
		my $answer;
		if ($method eq 'POST' && $path =~ m{^/v1/vector_stores/[^/]+/search})
		{
			$answer = $search_page;
		}
		elsif ($method eq 'POST' && $path eq '/v1/vector_stores')
		{
			my $req = eval { decode_json($body) } // {};
			$answer = encode_json({ %$req, id => 'vs_compat', object => 'vector_store', created_at => 1700000000,
				status => 'completed', usage_bytes => 0,
				file_counts => { in_progress => 0, completed => 0, failed => 0, cancelled => 0, total => 0 } });
		}
		else
		{
			$answer = '{"error": {"message": "not here", "type": "invalid_request_error"}}';
		}
		my $status = $answer =~ /^\{"error"/ ? '404 Not Found' : '200 OK';
		print $c "HTTP/1.1 $status\r\nContent-Type: application/json\r\nContent-Length: "
		  . length($answer) . "\r\nConnection: close\r\n\r\n$answer";
		close $c;
	}
	exit 0;
}
close $srv;

my $node = PostgreSQL::Test::Cluster->new('compat');
$node->init;
$node->append_conf('postgresql.conf', "vectorstore.base_url = 'http://127.0.0.1:$port/v1'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
sub sq { return $node->safe_psql('postgres', "SET search_path = vectorstore; " . shift); }

# the server's own fields go with extra_body, and come back in raw
is(sq(q{SELECT raw->>'embedding_model' || ' ' || (raw->>'embedding_dimension') || ' ' || (raw->>'provider_id')
	FROM vs_store_create(name => 'docs', request_options => '{"extra_body": {"embedding_model": "all-MiniLM-L6-v2", "embedding_dimension": 384, "provider_id": "faiss"}}')}),
	'all-MiniLM-L6-v2 384 faiss', 'extra_body reaches a compatible server, and raw keeps what it echoes');
my @reqs = map { decode_json($_) } split /\n/, slurp_file("$dir/requests");
is_deeply(decode_json($reqs[-1]{body}),
	{ name => 'docs', embedding_model => 'all-MiniLM-L6-v2', embedding_dimension => 384, provider_id => 'faiss' },
	'the body sent: the function\'s field and extra_body\'s, as given');

# search rows: score order, content joined and apart, the whole result in raw
is(sq(q{SELECT string_agg(rank || '|' || file_id || '|' || replace(content, E'\n', '\n') || '|'
		|| array_to_string(content_parts, ',') || '|' || coalesce(raw->>'chunk_id', '-') || '|'
		|| coalesce(raw->'metadata'->>'page', '-') || '|' || coalesce(attributes->>'lang', '-'), E'\n' ORDER BY rank)
	FROM vs_search('vs_compat', 'refunds')}),
	"1|file-b|best|best|chunk_7|-|-\n2|file-a|part one\\npart two|part one,part two|chunk_42|3|en",
	'a result\'s unknown fields (chunk_id, metadata) are kept in raw; content_parts in order');
is(sq(q{SELECT cardinality(content_parts) FROM vs_search('vs_compat', 'refunds') WHERE file_id = 'file-a'}), '2',
	'content_parts is a text[] of the parts');
is(sq(q{SELECT vs_search_json('vs_compat', 'refunds', request_options => '{"extra_body": {"search_mode": "hybrid"}}')->'data'->0->>'chunk_id'}),
	'chunk_42', 'vs_search_json keeps the page as sent');
@reqs = map { decode_json($_) } split /\n/, slurp_file("$dir/requests");
is(decode_json($reqs[-1]{body})->{search_mode}, 'hybrid', 'a search field of the server, through extra_body');

$node->stop;
kill 'TERM', $pid;
waitpid($pid, 0);
done_testing();
