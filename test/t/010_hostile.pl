# The extension's functions against a hostile server (test/hostile/hostile.pl):
# empty bodies, not JSON, wrong types for fields, nesting 100,000 deep, bodies
# over vectorstore.max_response_size, invalid UTF-8, NUL bytes, an endless
# chunked stream, a trickle, an endless list, redirects, a 1 MB header, odd
# error bodies, a closed connection. Each call must fail with the SQLSTATE
# that says what was wrong (its message checked too), the backend must never
# crash, a redirect must not be followed (the canary port sees nothing), and
# the session must work afterwards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(usleep time);
use POSIX ();
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);

# the hostile server
my $hdir = tempdir(CLEANUP => 1);
my $top = $ENV{TESTDIR} // '.';
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0)
{
	open(STDOUT, '>', "$hdir/stdout");
	open(STDERR, '>', "$hdir/stderr");
	exec('perl', "$top/test/hostile/hostile.pl", $hdir) or POSIX::_exit(1);
}
for (1 .. 200) { last if -s "$hdir/port"; usleep(25_000); }
die "hostile server did not start" unless -s "$hdir/port";
my $hport = slurp_file("$hdir/port");
chomp $hport;

my $node = VsTest::new_node('hostile', $emu);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE c text; m text; d text;
	BEGIN
		EXECUTE stmt;
		RETURN 'ok';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS c = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
		RETURN c || ' | ' || m || ' | ' || coalesce(d, '');
	END $$;
});
my $store = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'ok')");

# One call against one mode, in a fresh session with short limits.
sub hostile
{
	my ($mode, $call, %opt) = @_;
	my $settings = join('; ',
		"SET vectorstore.base_url = 'http://127.0.0.1:$hport/$mode/v1'",
		"SET vectorstore.max_retries = 0",
		"SET vectorstore.timeout = '" . ($opt{timeout} // '3s') . "'",
		"SET vectorstore.max_response_size = '1MB'",
		($opt{statement_timeout} ? "SET statement_timeout = '$opt{statement_timeout}'" : ()));
	my $sql = "$call";
	$sql =~ s/'/''/g;
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres', "$settings; SELECT try('$sql')");
	return ($out . $err, time - $t0);
}

my %calls = (
	store_get    => "SELECT vectorstore.vs_store_get('vs_1')",
	stores       => "SELECT count(*) FROM vectorstore.vs_stores()",
	search       => "SELECT count(*) FROM vectorstore.vs_search('vs_1', 'q')",
	file_content => "SELECT vectorstore.vs_file_content('file-1')",
	file_upload  => "SELECT vectorstore.vs_file_upload('a.txt', 'hello')",
	sf_get       => "SELECT vectorstore.vs_store_file_get('vs_1', 'file-1')",
	batch_get    => "SELECT vectorstore.vs_batch_get('vs_1', 'vsfb_1')",
	store_delete => "SELECT vectorstore.vs_store_delete('vs_1')",
);

# generic modes: [mode, expected "CODE | message | detail" pattern, calls]
my @all = sort keys %calls;
my @json_calls = grep { $_ ne 'file_content' } @all;
my @generic = (
	[ 'empty',      qr/^08P01 \| invalid response .*\| The response body is empty/, \@json_calls ],
	[ 'notjson',    qr/^08P01 \| invalid response .*\| The response body is not valid JSON/, \@json_calls ],
	[ 'deep',       qr/^08P01 \| invalid response .*\| .*not valid JSON \(or nests deeper than/, \@json_calls ],
	[ 'huge',       qr/^54000 \| .*exceeds vectorstore.max_response_size/, \@all ],
	[ 'badutf8',    qr/^08P01 \| invalid response .*\| .*not valid UTF-8/, \@json_calls ],
	[ 'nul',        qr/^08P01 \| invalid response .*\| .*(UTF-8|NUL)/, \@json_calls ],
	[ 'endless',    qr/^54000 \|/, \@all ],
	[ 'hugeheader', qr/^(08006|08P01) \|/, \@all ],
	[ 'errhtml',    qr/^58000 \| vector store API returned HTTP 500/, \@all ],
	[ 'errweird',   qr/^22023 \| vector store API returned HTTP 400/, \@all ],
	[ 'close',      qr/^08006 \| /, \@all ],
);
for my $g (@generic)
{
	my ($mode, $want, $names) = @$g;
	for my $name (@$names)
	{
		my ($res) = hostile($mode, $calls{$name});
		like($res, $want, "$mode: $name fails clearly") or diag($res);
	}
}

# binary content is not parsed: empty / non-JSON / NUL bodies are data
like((hostile('nul', $calls{file_content}))[0], qr/^ok/, 'nul: file content is returned as bytes');

# a slow trickle ends at vectorstore.timeout
for my $name (qw(store_get file_content))
{
	my ($res, $secs) = hostile('trickle', $calls{$name}, timeout => '1s');
	like($res, qr/^08006 \| .*timed out/, "trickle: $name times out") or diag($res);
	cmp_ok($secs, '<', 3, "trickle: $name ended in ${secs}s");
}

# an endless list is ended by statement_timeout (57014), not by memory
{
	my ($res, $secs) = hostile('pager', $calls{stores}, statement_timeout => '1s');
	like($res, qr/canceling statement due to statement timeout/, 'pager: endless pagination ends at statement_timeout')
	  or diag($res);
	cmp_ok($secs, '<', 3, "pager: ended in ${secs}s");
}

# wrong types of every kind, each naming the field
my @wrong = (
	[ 'id-number',         'store_get',  qr/08P01 .*Field "id" must be a string, but it is number/ ],
	[ 'created-string',    'store_get',  qr/08P01 .*Field "created_at" must be a Unix timestamp, but it is string/ ],
	[ 'created-huge',      'store_get',  qr/08P01 .*Field "created_at" is not a valid Unix timestamp/ ],
	[ 'counts-array',      'store_get',  qr/08P01 .*Field "file_counts" must be an object, but it is array/ ],
	[ 'name-object',       'store_get',  qr/08P01 .*Field "name" must be a string, but it is object/ ],
	[ 'usage-string',      'store_get',  qr/08P01 .*Field "usage_bytes" must be an integer, but it is string/ ],
	[ 'object-wrong',      'store_get',  qr/08P01 / ],
	[ 'toplevel-array',    'store_get',  qr/08P01 .*is a JSON array, not an object/ ],
	[ 'toplevel-string',   'store_get',  qr/08P01 .*is a JSON string, not an object/ ],
	[ 'trailing-garbage',  'store_get',  qr/08P01 .*not valid JSON/ ],
	[ 'data-object',       'stores',     qr/08P01 .*"data" of a list must be an array/ ],
	[ 'data-items',        'stores',     qr/08P01 .*Items of a list must be objects/ ],
	[ 'score-string',      'search',     qr/08P01 .*Field "score".* must be a number/ ],
	[ 'content-object',    'search',     qr/08P01 .*content/ ],
	[ 'file-bytes-number', 'file_upload', qr/08P01 .*Field "bytes" must be an integer, but it is string/ ],
	[ 'status-number',     'sf_get',     qr/08P01 .*Field "status" must be a string, but it is number/ ],
	[ 'lasterror-string',  'sf_get',     qr/08P01 .*Field "last_error" must be an object, but it is string/ ],
	[ 'deleted-string',    'store_delete', qr/08P01 .*Field "deleted" must be a boolean, but it is string/ ],
);
for my $w (@wrong)
{
	my ($mode, $name, $want) = @$w;
	my ($res) = hostile("json-$mode", $calls{$name});
	like($res, $want, "json-$mode: $name names the field") or diag($res);
}

# redirects are not followed: the canary port receives nothing
for my $name (qw(store_get file_upload store_delete))
{
	my ($res) = hostile('redirect', $calls{$name});
	like($res, qr/^\w{5} \| vector store API returned HTTP 30[27]/, "redirect: $name reports the 3xx") or diag($res);
}
usleep(200_000);
ok(!-e "$hdir/canary", 'the redirect target received no connection');

# the hostile server saw only what it was sent to (every request under /<mode>/v1/)
my @lines = split /\n/, slurp_file("$hdir/requests");
is(scalar(grep { !m{^(\S+) \S+ /\1/v1/} } @lines), 0, 'every request stayed under the configured base URL');

# the sessions and the server are fine: a normal call works, nothing crashed
is($node->safe_psql('postgres', "SELECT (vectorstore.vs_store_get('$store')).name"), 'ok',
	'the extension works normally afterwards');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated/, 'no backend crashed');

kill 'TERM', $hpid;
waitpid($hpid, 0);
$node->stop;
$emu->stop;
done_testing();
