# Credentials (credential.c): auth styles, default headers and query, key
# files, the wire each puts out (checked on the emulator's request log, Azure
# mode included); every field checked by name when it is set, with no key in
# any error or log line; CR/LF refused wherever a value becomes a header;
# grants as privileges on a foreign server (DROP ROLE refused until DROP
# OWNED; a role reusing a dropped role's oid inherits nothing); pg_dump keeps
# credentials and grants by role name and never a key, and a restored
# credential says it has no key.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use VsTest;

my $key = 'sk-cred-SECRET-7d1e55aa01';
my $gwkey = 'gw-SECRET-hdr-0c9b6a';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key, args => ['--azure']);
my $open = VsTest::Emulator->start(processing_delay_ms => 10);	# no key required
my $node = VsTest::new_node('creds', $emu,
	conf => [ "log_min_messages = debug5", "log_min_error_statement = debug5",
		"log_statement = 'none'", "vectorstore.api_key = '$key'" ]);
$node->start;
my $dir = tempdir(CLEANUP => 1);

sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'postgres', $sql); }
sub try
{
	my ($sql, %o) = @_;
	my ($ret, $out, $err) = $node->psql($o{db} // 'postgres', $sql,
		$o{user} ? (extra_params => [ '-U', $o{user} ]) : ());
	return wantarray ? ($ret, $out, $err) : "$out$err";
}
sub write_key
{
	my ($path, $content, $mode) = @_;
	open(my $fh, '>', "$path.tmp") or die;
	print $fh $content;
	close $fh;
	chmod($mode // 0600, "$path.tmp");
	rename("$path.tmp", $path) or die;
}
# the request log entries since $since (the emulator's seq)
sub wire { my ($e, $since) = @_; return $e->requests($since); }
sub last_seq { my ($e) = @_; my $r = $e->requests; return @$r ? $r->[-1]{seq} : 0; }

sq(q{CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;});

# --- auth styles and the wire -------------------------------------------
my $url = $emu->url;
sq("SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url/v1', project => 'proj_1')");
sq("SELECT vectorstore.vs_credential_set('az', '$key', base_url => '$url/openai', auth => 'api-key',
	query => '{\"api-version\": \"2024-10-21\"}')");
sq("SELECT vectorstore.vs_credential_set('gw', auth => 'none', base_url => '" . $open->url . "/v1',
	headers => '{\"X-Gateway-Key\": \"$gwkey\"}')");
sq("SELECT vectorstore.vs_credential_grant(c, 'alice') FROM unnest(ARRAY['team', 'az', 'gw']) c");

my $s = last_seq($emu);
like(try("SET vectorstore.credential = 'team'; SELECT (vectorstore.vs_store_create(name => 'bearer')).name", user => 'alice'),
	qr/^bearer$/, 'bearer credential works');
my ($r) = grep { $_->{method} eq 'POST' } @{ wire($emu, $s) };
is($r->{headers}{authorization}, "Bearer $key", 'bearer: Authorization: Bearer <key> on the wire');
ok(!exists $r->{headers}{'api-key'}, 'bearer: no api-key header');
is($r->{headers}{'openai-project'}, 'proj_1', 'bearer: OpenAI-Project');
is($r->{path}, '/v1/vector_stores', 'bearer: path under the base URL');

$s = last_seq($emu);
my $az = try("SET vectorstore.credential = 'az'; SELECT id FROM vectorstore.vs_store_create(name => 'azure');"
	  . " SET vectorstore.credential = 'az'; SELECT count(*) > 0 FROM vectorstore.vs_stores()", user => 'alice');
like($az, qr/^vs_\S+\nt$/, 'Azure-style credential works against the Azure mode (create, list)');
my @az = @{ wire($emu, $s) };
ok(@az >= 2, 'Azure: ' . scalar(@az) . ' requests on the wire');
ok(!(grep { $_->{path} !~ m{^/openai/vector_stores} } @az), 'Azure: every request under /openai');
ok(!(grep { ($_->{query} // '') !~ /(^|&)api-version=2024-10-21(&|$)/ } @az), 'Azure: api-version on every request');
ok(!(grep { ($_->{headers}{'api-key'} // '') ne $key } @az), 'Azure: api-key header on every request');
ok(!(grep { exists $_->{headers}{authorization} } @az), 'Azure: no Authorization header');

$s = last_seq($open);
like(try("SET vectorstore.credential = 'gw'; SELECT (vectorstore.vs_store_create(name => 'gw')).name", user => 'alice'),
	qr/^gw$/, 'auth none with a default header works');
($r) = grep { $_->{method} eq 'POST' } @{ wire($open, $s) };
is($r->{headers}{'x-gateway-key'}, $gwkey, 'default header on the wire');
ok(!exists $r->{headers}{authorization} && !exists $r->{headers}{'api-key'}, 'auth none: no key header at all');

# the settings credential, Azure-style through settings
$s = last_seq($emu);
like(try("SET vectorstore.base_url = '$url/openai'; SET vectorstore.api_key = '$key';"
	  . " SET vectorstore.auth = 'api-key'; SET vectorstore.query = '{\"api-version\": \"2025-01-01\"}';"
	  . " SELECT (vectorstore.vs_store_create(name => 'settings-az')).name"),
	qr/settings-az/, 'Azure-style settings credential (auth, query settings) works');
($r) = grep { $_->{method} eq 'POST' } @{ wire($emu, $s) };
is($r->{query}, 'api-version=2025-01-01', 'settings: vectorstore.query on the wire');
is($r->{headers}{'api-key'}, $key, 'settings: api-key header from vectorstore.auth');

# what anyone may see: names, never values
is(sq("SELECT headers::text || ' ' || key FROM vectorstore.credentials WHERE name = 'gw'"),
	'{X-Gateway-Key} none', 'credentials view lists header names, not values');
is(sq("SET vectorstore.headers = '{\"X-A\": \"$gwkey\"}'; SHOW vectorstore.headers"), '********',
	'SHOW masks vectorstore.headers');
unlike(sq("SELECT string_agg(setting, ',') FROM pg_settings WHERE name LIKE 'vectorstore.%'"), qr/SECRET/,
	'pg_settings shows no secret');

# --- key files ------------------------------------------------------------
my $kf = "$dir/team.key";
write_key($kf, "sk-file-SECRET-one-1111\n");
sq("SELECT vectorstore.vs_credential_set('kf', key_file => '$kf', base_url => '" . $open->url . "/v1')");
sq("SELECT vectorstore.vs_credential_grant('kf', 'alice')");
$s = last_seq($open);
try("SET vectorstore.credential = 'kf'; SELECT vectorstore.vs_store_create(name => 'k1')", user => 'alice');
($r) = grep { $_->{method} eq 'POST' } @{ wire($open, $s) };
is($r->{headers}{authorization}, 'Bearer sk-file-SECRET-one-1111', 'key file: its key is sent (trimmed)');
write_key($kf, "sk-file-SECRET-two-2222");
$s = last_seq($open);
try("SET vectorstore.credential = 'kf'; SELECT vectorstore.vs_store_create(name => 'k2')", user => 'alice');
($r) = grep { $_->{method} eq 'POST' } @{ wire($open, $s) };
is($r->{headers}{authorization}, 'Bearer sk-file-SECRET-two-2222', 'key file: a replaced file is read again at use');
# within one session (one backend's cache): the file is replaced between two calls
$s = last_seq($open);
write_key("$kf.next", 'sk-file-SECRET-three-3333');	# (no key typed into SQL)
sq("SET vectorstore.credential = 'kf'; SELECT vectorstore.vs_store_create(name => 'k2b');
	COPY (SELECT 1) TO PROGRAM 'mv $kf.next $kf';
	SELECT vectorstore.vs_store_create(name => 'k2c');");
my @two = grep { $_->{method} eq 'POST' } @{ wire($open, $s) };
is(join(' ', map { $_->{headers}{authorization} } @two),
	'Bearer sk-file-SECRET-two-2222 Bearer sk-file-SECRET-three-3333',
	'key file: replaced between two calls of one session, the second call reads the new key');
chmod(0644, $kf);
like(try("SET vectorstore.credential = 'kf'; SELECT vectorstore.vs_store_create(name => 'k3')", user => 'alice'),
	qr/key file ".*team.key" is accessible to its group or to others/, 'key file readable by others: refused at use');
chmod(0600, $kf);
write_key("$dir/bad.key", "sk-a\r\nX-Injected: yes\n");
like(try("SELECT vectorstore.vs_credential_set('kf2', key_file => '$dir/bad.key')"),
	qr/key_file cannot be used: the key in key file .* contains spaces or control characters/,
	'key file holding CR/LF inside the key: refused');
write_key("$dir/open.key", "sk-x", 0644);
like(try("SELECT vectorstore.vs_credential_set('kf3', key_file => '$dir/open.key')"),
	qr/accessible to its group or to others/, 'key file readable by others: refused when set');
like(try("SELECT vectorstore.vs_credential_set('kf4', key_file => 'relative.key')"),
	qr/key_file must be an absolute path/, 'key file path must be absolute');
# the settings key file
write_key("$dir/settings.key", "sk-settings-SECRET-3333\n");
$s = last_seq($open);
try("SET vectorstore.base_url = '" . $open->url . "/v1'; SET vectorstore.api_key = '';"
	  . " SET vectorstore.api_key_file = '$dir/settings.key'; SELECT vectorstore.vs_store_create(name => 's1')");
($r) = grep { $_->{method} eq 'POST' } @{ wire($open, $s) };
is($r->{headers}{authorization}, 'Bearer sk-settings-SECRET-3333', 'vectorstore.api_key_file: its key is sent');
like(try("SET vectorstore.base_url = '" . $open->url . "/v1'; SET vectorstore.api_key_file = '$dir/settings.key';"
	  . " SET vectorstore.api_key = 'sk-other'; SELECT vectorstore.vs_store_create(name => 's2')"),
	qr/both vectorstore.api_key and vectorstore.api_key_file are set/, 'api_key and api_key_file together: refused');

# --- every field checked by name, before anything is stored -------------
my @bad = (
	[ "'bad name', 'sk-bad-SECRET-0001'",                          qr/invalid credential name/ ],
	[ "'vectorstore', 'sk-bad-SECRET-0002'",                       qr/invalid credential name "vectorstore"/ ],
	[ "'c1', 'sk-bad-SECRET-0003', base_url => 'http://h/v1?api-version=1'", qr/invalid base_url.*\n.*must not have a query/ ],
	[ "'c1', 'sk-bad-SECRET-0004', base_url => 'https://h/v1#frag'",  qr/must not have a fragment/ ],
	[ "'c1', 'sk-bad-SECRET-0005', base_url => 'https://h/v1 x'",     qr/whitespace or control characters/ ],
	[ "'c1', 'sk-bad-SECRET-0006', base_url => 'https://u:pw\@h/v1'", qr/user name or password/ ],
	[ "'c1', 'sk-bad-SECRET-0007', base_url => 'ftp://h/v1'",         qr/must start with https:\/\/ or http:\/\// ],
	[ "'c1', E'sk-bad-SECRET-0008\\r\\nX-Injected: yes'",           qr/api_key must not contain spaces or control characters/ ],
	[ "'c1', 'sk-bad-SECRET-0009', organization => E'org\\r\\nX-Injected: yes'", qr/organization must not contain control characters/ ],
	[ "'c1', 'sk-bad-SECRET-0010', project => E'p\\nX-Injected: yes'", qr/project must not contain control characters/ ],
	[ "'c1', 'sk-bad-SECRET-0011', headers => '{\"X-A\": \"v\\r\\nX-Injected: yes\"}'", qr/invalid headers: the value of header "X-A" must not contain control characters/ ],
	[ "'c1', 'sk-bad-SECRET-0012', headers => '{\"X-A\\r\\nX-B\": \"v\"}'", qr/invalid headers: header name "X-A\\x0D\\x0AX-B" is not a valid HTTP token/ ],
	[ "'c1', 'sk-bad-SECRET-0013', headers => '{\"Authorization\": \"Bearer x\"}'", qr/header "Authorization" cannot be a default header/ ],
	[ "'c1', 'sk-bad-SECRET-0014', headers => '{\"Host\": \"evil\"}'", qr/header "Host" cannot be a default header/ ],
	[ "'c1', 'sk-bad-SECRET-0015', headers => '[1]'",                qr/invalid headers\n.*must be a JSON object/ ],
	[ "'c1', 'sk-bad-SECRET-0016', query => '{\"a\": {\"b\": 1}}'",  qr/invalid query\n.*must be a string, number or boolean/ ],
	[ "'c1', 'sk-bad-SECRET-0017', auth => 'basic'",                  qr/auth must be bearer, api-key or none/ ],
	[ "'c1', 'sk-bad-SECRET-0018', auth => 'none'",                   qr/auth none sends no key/ ],
	[ "'c1', 'sk-bad-SECRET-0019', key_file => '$kf'",                qr/give api_key or key_file, not both/ ],
	[ "'c1'",                                                         qr/a credential needs api_key or key_file/ ],
	[ "'c1', ''",                                                     qr/api_key must not be empty/ ],
);
for my $b (@bad)
{
	my ($args, $want) = @$b;
	my $res = try("SELECT vectorstore.vs_credential_set($args)");
	like($res, $want, "vs_credential_set($args) refused, naming the field");
	unlike($res, qr/SECRET-00/, '... without echoing the key');
}
is(sq("SELECT count(*) FROM vectorstore.credential WHERE name = 'c1'"), '0', 'nothing was stored by a refused call');
like(try("SELECT vectorstore.vs_credential_set('c2', 'sk-x')", user => 'alice'), qr/permission denied/,
	'an ordinary role cannot store credentials');

# the same checks for the settings, when they are set
my @badset = (
	[ "SET vectorstore.organization = E'org\\r\\nX-Injected: yes'", qr/vectorstore.organization must not contain control characters/ ],
	[ "SET vectorstore.project = E'p\\nX-Injected: yes'",           qr/vectorstore.project must not contain control characters/ ],
	[ "SET vectorstore.api_key = E'sk-bad-SECRET-0101\\r\\nX: y'",  qr/vectorstore.api_key must not contain spaces or control characters/ ],
	[ "SET vectorstore.headers = '{\"X-A\": \"sk-bad-SECRET-0102\\r\\nX: y\"}'", qr/invalid value for vectorstore.headers/ ],
	[ "SET vectorstore.headers = '{\"Cookie\": \"sk-bad-SECRET-0103\"}'", qr/header "Cookie" cannot be a default header/ ],
	[ "SET vectorstore.headers = 'sk-bad-SECRET-0104'",             qr/must be a JSON object/ ],
	[ "SET vectorstore.query = '{\"api-version\": \"1\"} trailing'", qr/must be a JSON object/ ],
	[ "SET vectorstore.query = '{\"api-version\": [1]}'",           qr/must be a string, number or boolean/ ],
	[ "SET vectorstore.base_url = 'https://h/openai?api-version=1'", qr/must not have a query/ ],
	[ "SET vectorstore.base_url = 'https://h/v1#x'",                qr/must not have a fragment/ ],
	[ "SET vectorstore.base_url = E'https://h/v1\\tx'",              qr/whitespace or control characters/ ],
	[ "SET vectorstore.base_url = 'https://user:sk-bad-SECRET-0105\@h/v1'", qr/user name or password/ ],
	[ "SET vectorstore.api_key_file = 'relative'",                   qr/must be an absolute path/ ],
	[ "ALTER ROLE alice SET vectorstore.headers = '{\"X-A\": \"sk-bad-SECRET-0106\"}'", qr/cannot be set per role or per database/ ],
);
for my $b (@badset)
{
	my ($sql, $want) = @$b;
	my $res = try($sql);
	like($res, $want, "refused when set: $sql");
	unlike($res, qr/SECRET-01/, '... without echoing the value');
}

# the last line of defence: a value that got into a row directly is refused on the wire
sq("UPDATE vectorstore.credential SET organization = E'org\\r\\nX-Injected: yes' WHERE name = 'team'");
$s = last_seq($emu);
like(try("SET vectorstore.credential = 'team'; SELECT vectorstore.vs_store_create(name => 'inject')", user => 'alice'),
	qr/organization must not contain control characters/, 'CR/LF in a stored organization: the request is refused');
is(scalar @{ wire($emu, $s) }, 0, '... and nothing reached the server');
sq("UPDATE vectorstore.credential SET organization = NULL WHERE name = 'team'");
ok(!(grep { grep { /x-injected/i } keys %{ $_->{headers} } } @{ $emu->requests }),
	'no request carried an injected header');

# --- grants are privileges on the credential's foreign server -------------
is(sq("SELECT grantees::text FROM vectorstore.credentials WHERE name = 'team'"), '{alice}', 'grantees listed by name');
is(sq("SELECT has_server_privilege('alice', 'team', 'USAGE')"), 't', 'a grant is USAGE on server team');
like(try("SET vectorstore.credential = 'team'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'),
	qr/credential "team" does not exist or is not granted/, 'bob was not granted team');
sq("CREATE ROLE staff; GRANT staff TO bob; GRANT USAGE ON FOREIGN SERVER team TO staff");
like(try("SET vectorstore.credential = 'team'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'),
	qr/^t$/, 'a grant to a role bob is a member of lets bob use it (plain GRANT works too)');
sq("REVOKE USAGE ON FOREIGN SERVER team FROM staff");
like(try("SET vectorstore.credential = 'team'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'),
	qr/not granted/, 'revoked: refused at once');
is(sq("SELECT vectorstore.vs_credential_revoke('team', 'bob')"), 'f', 'revoke of what was never granted: false');

# the settings credential: USAGE on server "vectorstore"
like(try("SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'), qr/^t$/,
	'a role with no grant uses the settings (PUBLIC has USAGE on server vectorstore)');
sq("REVOKE USAGE ON FOREIGN SERVER vectorstore FROM PUBLIC");
like(try("SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'),
	qr/role "bob" may not use the settings credential/, 'revoked from PUBLIC: the settings are refused');
sq("GRANT USAGE ON FOREIGN SERVER vectorstore TO bob");
like(try("SELECT count(*) >= 0 FROM vectorstore.vs_stores()", user => 'bob'), qr/^t$/, 'granted to bob: allowed again');
sq("GRANT USAGE ON FOREIGN SERVER vectorstore TO PUBLIC; REVOKE USAGE ON FOREIGN SERVER vectorstore FROM bob");

# no options on servers: nothing secret (or not) hides there
like(try("ALTER SERVER team OPTIONS (api_key 'sk-x')"), qr/option "api_key" cannot hold a secret/, 'secret option refused');
like(try("ALTER SERVER team OPTIONS (base_url 'http://x')"), qr/invalid option "base_url"/, 'unknown server option refused');

# --- pg_dump: credentials and grants by role name, never a key ------------
sq("CREATE DATABASE dumped");
sq(q{CREATE EXTENSION vectorstore; GRANT USAGE ON SCHEMA vectorstore TO alice;}, 'dumped');
sq("SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url/v1');
	SELECT vectorstore.vs_credential_set('kf', key_file => '$kf', base_url => '" . $open->url . "/v1');
	SELECT vectorstore.vs_credential_set('gw', auth => 'none', base_url => '" . $open->url . "/v1',
		headers => '{\"X-Gateway-Key\": \"$gwkey\"}');
	SELECT vectorstore.vs_credential_grant(c, 'alice') FROM unnest(ARRAY['team', 'kf', 'gw']) c;", 'dumped');
my $dump = "$dir/dumped.dump";
command_ok([ 'pg_dump', '-Fc', '-h', $node->host, '-p', $node->port, '-f', $dump, 'dumped' ], 'pg_dump');
my $sql = `pg_restore -f - $dump`;
like($sql, qr/CREATE SERVER team FOREIGN DATA WRAPPER vectorstore_fdw/, 'the dump creates server team');
like($sql, qr/GRANT ALL ON FOREIGN SERVER team TO alice|GRANT USAGE ON FOREIGN SERVER team TO alice/, '... grants it to alice by name');
like($sql, qr/COPY vectorstore\.credential /, '... and keeps the credential rows');
unlike($sql, qr/\Q$key\E|SECRET/, 'no key and no header value in the dump');

my $node2 = PostgreSQL::Test::Cluster->new('restored');
$node2->init;
$node2->append_conf('postgresql.conf', "shared_preload_libraries = 'vectorstore'\nvectorstore.base_url = '$url/v1'\n");
$node2->start;
# roles created in another order: other oids than in the first cluster
$node2->safe_psql('postgres', 'CREATE ROLE filler1; CREATE ROLE filler2; CREATE ROLE alice LOGIN; CREATE DATABASE dumped');
isnt($node2->safe_psql('postgres', "SELECT 'alice'::regrole::oid"), sq("SELECT 'alice'::regrole::oid"),
	'alice has another oid in the second cluster');
command_ok([ 'pg_restore', '-h', $node2->host, '-p', $node2->port, '-d', 'dumped', $dump ], 'pg_restore into another cluster');
is($node2->safe_psql('dumped', "SELECT string_agg(name || ':' || key || ':' || grantees::text, ' ' ORDER BY name) FROM vectorstore.credentials"),
	'gw:none:{alice} kf:file:{alice} team:missing:{alice}', 'restored: credentials, their grants by role name; team lost its key');
my ($ret2, $out2, $err2) = $node2->psql('dumped', "SET vectorstore.credential = 'team'; SELECT vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
like($err2, qr/credential "team" has no API key \(keys are not kept in dumps\): a superuser sets it again/,
	'a restored credential without its key says so');
($ret2, $out2, $err2) = $node2->psql('dumped', "SET vectorstore.credential = 'gw'; SELECT vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
like($err2, qr/credential "gw" has lost the values of its default headers/, '... and one without its header values too');
($ret2, $out2, $err2) = $node2->psql('dumped', "SET vectorstore.credential = 'kf'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
is($out2, 't', 'a key-file credential works at once after the restore');
$node2->safe_psql('dumped', "SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url/v1')");
($ret2, $out2, $err2) = $node2->psql('dumped', "SET vectorstore.credential = 'team'; SELECT count(*) >= 0 FROM vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
is($out2, 't', 'set again by a superuser: works, grants kept');
$node2->stop;

# --- DROP ROLE, and a new role with the old oid --------------------------
my $alice_oid = sq("SELECT 'alice'::regrole::oid");
like(try('DROP ROLE alice'), qr/role "alice" cannot be dropped because some objects depend on it\n.*privileges for (foreign )?server/s,
	'DROP ROLE refuses a role that holds a credential grant');
sq('DROP OWNED BY alice', 'dumped');
sq('DROP OWNED BY alice');
sq('DROP ROLE alice');
pass('DROP ROLE after DROP OWNED');
# force the next role to get alice's oid, as an oid counter wraparound would
$node->stop;
system('pg_ctl', '-D', $node->data_dir, '-l', $node->logfile, '-o', '-b', '-w', 'start') == 0 or die;
sq("SELECT binary_upgrade_set_next_pg_authid_oid($alice_oid); CREATE ROLE mallory LOGIN;");
system('pg_ctl', '-D', $node->data_dir, '-m', 'fast', '-w', 'stop') == 0 or die;
$node->start;
is(sq("SELECT 'mallory'::regrole::oid"), $alice_oid, "mallory has alice's old oid $alice_oid");
is(sq("SELECT has_server_privilege('mallory', s.oid, 'USAGE') FROM pg_foreign_server s WHERE s.srvname = 'team'"),
	'f', 'mallory inherits no grant');
sq('GRANT USAGE ON SCHEMA vectorstore TO mallory');
like(try("SET vectorstore.credential = 'team'; SELECT vectorstore.vs_stores()", user => 'mallory'),
	qr/credential "team" does not exist or is not granted to role "mallory"/, 'mallory cannot use the credential');
is(sq("SELECT count(*) FROM vectorstore.credentials WHERE 'mallory' = ANY (grantees)"), '0', 'and is no grantee');

# --- the log: no key, whatever was refused, at debug5 ----------------------
$node->stop;
my $log = slurp_file($node->logfile);
ok(length($log) > 100_000, 'the log was written at debug5 (' . length($log) . ' bytes)');
for my $k ($key, $gwkey, 'sk-file-SECRET-one-1111', 'sk-file-SECRET-two-2222', 'sk-file-SECRET-three-3333', 'sk-settings-SECRET-3333')
{
	# the first three were typed into SQL by this test with log_statement = none
	unlike($log, qr/\Q$k\E/, "no trace of $k in the log");
}
unlike($log, qr/SECRET-0[01]\d\d/, 'no key given to a refused call or setting is in the log');
unlike($log, qr/Failing row contains/, 'no failing row printed');
$emu->stop;
$open->stop;
done_testing();
