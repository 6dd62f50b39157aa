# The extension <-> server boundary: where plain http may go (the loopback
# rule parses the host; nothing is resolved to decide; the verdict matches
# the address libcurl connects to, never through a proxy from the
# environment); base URLs with a query, fragment, whitespace or password
# refused for the setting and credentials alike; 16 gzip bombs answering one
# call stay under the per-call cap in memory (VmHWM) and fail cleanly; an
# escaped NUL in a JSON string is refused; interval arguments are capped
# without overflow; another cJSON user in the backend is unaffected by this
# extension, and every tree this extension makes is freed, on ERROR too; a
# base URL and key changed while requests are in flight never send one
# server's key to the other (a statement, and the worker).
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(usleep);
use POSIX ();
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $h = VsTest::Hostile->start;
my $port = $emu->port;
my $node = VsTest::new_node('boundary', $emu, conf => [
	"vectorstore.worker_naptime = '200ms'", "vectorstore.launcher_naptime = '1s'" ]);
$node->start;
my $dir = tempdir(CLEANUP => 1);
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');

sub try
{
	my ($sql, %o) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	return "$out$err";
}

# --- the loopback rule -----------------------------------------------------
my @refused = (
	"http://127.attacker.example:$port/v1", "http://127.0.0.1.nip.io:$port/v1",
	"http://localhost.:$port/v1", "http://127.0.0.1.:$port/v1", "http://0.0.0.0:$port/v1",
	"http://10.0.0.1:$port/v1", "http://[::ffff:10.0.0.1]:$port/v1", "http://example.com/v1",
	"http://localhost.attacker.example:$port/v1", "http://foo.localhost:$port/v1");
for my $u (@refused)
{
	like(try("SET vectorstore.base_url = '$u'; SELECT count(*) FROM vectorstore.vs_stores()"),
		qr/plain http:\/\/ is allowed only to loopback hosts/, "plain http refused: $u");
}
# loopback in the forms libcurl normalises: these reach the emulator
for my $u ("http://127.0.0.1:$port/v1", "http://0x7f.1:$port/v1", "http://2130706433:$port/v1",
	"http://127.1:$port/v1", "http://0177.0.0.1:$port/v1", "http://localhost:$port/v1",
	"http://LOCALHOST:$port/v1", "http://[::ffff:127.0.0.1]:$port/v1")
{
	like(try("SET vectorstore.base_url = '$u'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()"),
		qr/^t$/, "loopback allowed and reached: $u");
}
# [::1] is loopback by the rule; the emulator listens on 127.0.0.1 only, so
# the connection (not the rule) fails
like(try("SET vectorstore.base_url = 'http://[::1]:$port/v1'; SELECT vectorstore.vs_stores()"),
	qr/could not connect to the vector store API/, 'http://[::1] passes the rule (and finds nobody listening)');
# the same rule for a named credential, at request time
$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_set('lo', 'sk-x', base_url => 'http://127.attacker.example/v1')");
like(try("SET vectorstore.credential = 'lo'; SELECT vectorstore.vs_stores()"),
	qr/plain http:\/\/ is allowed only to loopback hosts/, 'a credential with a non-loopback http URL is refused at request time');
# https anywhere passes the rule (this one then fails to resolve or connect)
unlike(try("SET vectorstore.base_url = 'https://127.attacker.invalid/v1'; SET vectorstore.timeout = '2s'; SET vectorstore.connect_timeout = '2s';"
	  . " SELECT vectorstore.vs_stores()"), qr/plain http/, 'https is not subject to the loopback rule');

# one check of a base URL's form, for the setting and credentials alike
for my $b ([ 'http://127.0.0.1/openai?api-version=2024-10-21', qr/must not have a query/ ],
	[ 'http://127.0.0.1/v1#x', qr/must not have a fragment/ ],
	[ 'http://127.0.0.1/v 1', qr/whitespace or control characters/ ],
	[ "http://127.0.0.1/v1\n", qr/whitespace or control characters/ ],
	[ 'http://user:pw@127.0.0.1/v1', qr/user name or password/ ])
{
	my ($u, $want) = @$b;
	(my $lit = $u) =~ s/\n/\\n/g;
	like(try("SET vectorstore.base_url = E'$lit'"), $want, "setting refused: $lit");
	like(try("SELECT vectorstore.vs_credential_set('q', 'sk-x', base_url => E'$lit')"), $want, "credential refused: $lit");
}

# --- never through a proxy from the environment for loopback http ----------
{
	my $canary = $h->{dir} . '/canary';
	my $canary_port = slurp_file($h->{dir} . '/canary_port');
	chomp $canary_port;
	local $ENV{http_proxy} = "http://127.0.0.1:$canary_port";
	local $ENV{ALL_PROXY} = "http://127.0.0.1:$canary_port";
	my $px = VsTest::new_node('proxied', $emu);
	$px->start;
	$px->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
	my ($pret, $pout, $perr) = $px->psql('postgres', 'SELECT count(*) >= 0 FROM vectorstore.vs_stores()');
	is($pout, 't', 'with http_proxy in the server environment, loopback http works') or diag($perr);
	ok(!-e $canary, '... and the proxy saw no connection');
	$px->stop;
}

# --- 16 gzip bombs answering one call ---------------------------------------
my $hwm = q{(regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint};
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'boundary')");
my $bomb = $node->safe_psql('postgres', qq{
	SET vectorstore.max_response_size = '8MB';
	SET vectorstore.max_retries = 0;
	-- warm up: libcurl, its connection pool and the code, at their size
	SELECT count(*) FROM vectorstore.vs_upload_many('$vs', ARRAY['w1', 'w2'], ARRAY['a', 'b'], wait => false, max_concurrency => 16);
	SELECT $hwm;
	SET vectorstore.base_url = '@{[ $h->url('gzipbomb') ]}';
	SELECT string_agg(DISTINCT coalesce(error, 'none'), ' | ') FROM vectorstore.vs_upload_many('$vs',
		(SELECT array_agg('bomb' || i) FROM generate_series(1, 16) i),
		(SELECT array_agg('x' || i) FROM generate_series(1, 16) i), wait => false, max_concurrency => 16);
	SELECT $hwm;
	SELECT 'usable';
});
my (undef, $before, $errors, $after, $usable) = split /\n/, $bomb;
note("VmHWM before $before kB, after $after kB; errors: $errors");
like($errors, qr/exceeds vectorstore.max_response_size \(8192 kB\)/, '16 gzip bombs: the call fails cleanly, naming the cap');
cmp_ok($after - $before, '<=', 8 * 1024 + 4096,
	'16 gzip bombs (60 MB each inflated): peak memory grew by ' . ($after - $before) . ' kB, under the 8 MB per-call cap plus 4 MB');
is($usable, 'usable', 'the session is usable after the bombs');
like(try("SET vectorstore.base_url = '@{[ $h->url('gzipbomb') ]}'; SET vectorstore.max_response_size = '8MB';"
	  . " SELECT vectorstore.vs_store_get('vs_1')"), qr/exceeds vectorstore.max_response_size/,
	'one gzip bomb: 54000 naming the cap');

# --- an escaped NUL in a JSON string ----------------------------------------
for my $fn ("vectorstore.vs_file_get('file-abc')", "vectorstore.vs_file_upload('a.txt', 'x')")
{
	like(try("SET vectorstore.base_url = '@{[ $h->url('nulesc') ]}'; SELECT $fn"),
		qr/invalid response from the vector store API\n.*escaped NUL character/,
		"escaped NUL in a string refused (not cut short): $fn");
}

# --- interval arguments: capped, never overflowing ---------------------------
my $f = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_file_upload('p.txt', 'poll me')");
$node->safe_psql('postgres', "SELECT vectorstore.vs_store_file_add('$vs', '$f')");
for my $iv ('367 days', '296 years', '300 years', '100000000 years', '2147483647 days', '-178000000 years')
{
	like(try("SELECT vectorstore.vs_store_file_poll('$vs', '$f', timeout => '$iv')"),
		qr/timeout must be at most one year/, "timeout => '$iv' refused (at most one year)");
}
like(try("SELECT vectorstore.vs_store_file_poll('$vs', '$f', timeout => '-1 second')"),
	qr/timeout must not be negative/, 'a negative timeout refused');
like(try("SELECT (vectorstore.vs_store_file_poll('$vs', '$f', timeout => '365 days')).status"),
	qr/^completed$/, 'a timeout of a year is accepted');

# --- another cJSON user in the same backend ---------------------------------
my $pgc = $ENV{PG_CONFIG} // 'pg_config';
my $inc = `$pgc --includedir-server`;
chomp $inc;
my $top = $ENV{TESTDIR} // '.';
system('gcc', '-shared', '-fPIC', '-O1', "-I$inc", '-o', "$dir/neighbour.so",
	"$top/test/cjson/neighbour.c", '-lcjson') == 0 or die 'could not build the neighbour';
$node->safe_psql('postgres', join('', map {
	"CREATE FUNCTION $_->[0]() RETURNS $_->[1] AS '$dir/neighbour.so', '$_->[0]' LANGUAGE C;" }
	  ([ 'neighbour_keep', 'boolean' ], [ 'neighbour_read', 'text' ], [ 'neighbour_count_hooks', 'void' ],
	   [ 'neighbour_live', 'bigint' ], [ 'neighbour_allocs', 'bigint' ])));
my $calls = join("\n", map { "SELECT try(\$\$$_\$\$);" }
	"SELECT vectorstore.vs_store_get('$vs')",
	"SELECT count(*) FROM vectorstore.vs_search('$vs', 'poll')",
	"SELECT count(*) FROM vectorstore.vs_stores()",
	"SELECT vectorstore.vs_store_get('vs_does_not_exist')",
	"SET vectorstore.base_url = '@{[ $h->url('notjson') ]}'; SELECT vectorstore.vs_store_get('vs_1')",
	"SET vectorstore.base_url = '@{[ $h->url('json-object-wrong') ]}'; SELECT vectorstore.vs_store_get('vs_1')",
	"SET vectorstore.base_url = '@{[ $h->url('errweird') ]}'; SELECT vectorstore.vs_store_get('vs_1')",
	"SET vectorstore.base_url = '@{[ $h->url('echo') ]}'; SELECT vectorstore.vs_store_get('vs_1')",
	"SET vectorstore.base_url = '@{[ $h->url('deep') ]}'; SELECT vectorstore.vs_store_get('vs_1')",
	"SELECT vectorstore.vs_store_create(metadata => '{\"a\": {\"nested\": 1}}')",
	"SELECT count(*) FROM vectorstore.vs_upload_many('$vs', ARRAY['n1', 'n2'], ARRAY['a', 'b'], wait => true)");
my $neighbour = $node->safe_psql('postgres', qq{
	CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS \$f\$
	BEGIN EXECUTE stmt; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN 'error'; END \$f\$;
	SELECT count(*) FROM vectorstore.vs_stores();   -- the library is loaded first
	SELECT neighbour_keep();
	$calls
	RESET vectorstore.base_url;
	SELECT neighbour_read();
	SELECT neighbour_count_hooks();
	$calls
	RESET vectorstore.base_url;
	SELECT neighbour_allocs() > 100, neighbour_live();
	SELECT neighbour_read();
});
my @n = split /\n/, $neighbour;
my $expect = '{"neighbour":"a tree made with cJSON\'s own allocator","n":[1,2,3]}';
is((grep { /^\{"neighbour"/ } @n)[0], $expect, "a neighbour's tree kept across this extension's calls is intact");
ok((grep { $_ eq 'ok' } @n) >= 4 && (grep { $_ eq 'error' } @n) >= 6, 'the calls between ran (some failing on purpose)');
is((grep { /^[tf]\|/ } @n)[0], 't|0',
	'with the neighbour\'s allocator installed, every tree this extension made was freed (on ERROR too)');
is((grep { /^\{"neighbour"/ } @n)[1], $expect, "the neighbour's tree is still intact at the end");

# --- base URL and key changed while requests are in flight -----------------
my $ka = 'sk-A-server-' . ('a' x 16);
my $kb = 'sk-B-server-' . ('b' x 16);
my $a = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $ka);
my $b = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $kb);
my $vsa = $node->safe_psql('postgres', "SET vectorstore.base_url = '@{[ $a->url ]}/v1'; SET vectorstore.api_key = '$ka';"
	  . " SELECT id FROM vectorstore.vs_store_create(name => 'a')");
$node->safe_psql('postgres', "ALTER SYSTEM SET vectorstore.base_url = '@{[ $a->url ]}/v1';"
	  . " ALTER SYSTEM SET vectorstore.api_key = '$ka'; SELECT pg_reload_conf()");
sleep 1;
$a->config({ latency => { upload => 250, create => 100 } });
# a statement with requests in flight, and queued jobs for the worker
my $pid = fork();
if ($pid == 0)
{
	exec('psql', '-XAtq', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-o', "$dir/inflight.out", '-c',
		"SELECT count(*) FROM vectorstore.vs_upload_many('$vsa', (SELECT array_agg('f' || i) FROM generate_series(1, 12) i),"
		  . " (SELECT array_agg('x' || i) FROM generate_series(1, 12) i), wait => false, max_concurrency => 2)") or POSIX::_exit(1);
}
$node->safe_psql('postgres', "SELECT vectorstore.vs_enqueue_upload('$vsa', 'job' || i, 'job ' || i) FROM generate_series(1, 12) i");
for (1 .. 200) { last if grep { $_->{method} eq 'POST' && $_->{path} =~ m{/files$} } @{ $a->requests }; usleep(20_000); }
$node->safe_psql('postgres', "ALTER SYSTEM SET vectorstore.base_url = '@{[ $b->url ]}/v1';"
	  . " ALTER SYSTEM SET vectorstore.api_key = '$kb'; SELECT pg_reload_conf()");
waitpid($pid, 0);
is(slurp_file("$dir/inflight.out"), "12\n", 'the statement in flight finished its 12 uploads');
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM vectorstore.jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')")
  or diag('jobs still pending');
$node->safe_psql('postgres', "SELECT count(*) FROM vectorstore.vs_stores()");
my @ra = @{ $a->requests };
my @rb = @{ $b->requests };
ok(@rb > 0, 'requests reached the new server after the change (' . scalar(@rb) . ')');
is(scalar(grep { ($_->{headers}{authorization} // '') ne "Bearer $ka" } @ra), 0,
	'server A received only its own key (' . scalar(@ra) . ' requests)');
is(scalar(grep { ($_->{headers}{authorization} // '') ne "Bearer $kb" } @rb), 0,
	'server B received only its own key (' . scalar(@rb) . ' requests)');
$a->stop;
$b->stop;

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'no process crashed');
$emu->stop;
$h->stop;
done_testing();
