# Privilege matrix and secrets: superuser, a role granted use through a
# credential, and a role with no grant. The API key must not be readable by
# the non-superusers through any path, including the server log at debug1
# with log_statement = all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $key = 'sk-test-SECRET-2f9c41d7';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key);
my $node = VsTest::new_node('security', $emu,
	conf => [ "vectorstore.api_key = '$key'", "log_min_messages = debug1",
		"log_statement = 'all'", "log_min_error_statement = debug1" ]);
$node->start;

# setup by the superuser, with statement logging off for the one statement
# that carries a key (documented: keep keys out of logged SQL)
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SET log_statement = 'none';
	SELECT vectorstore.vs_credential_set('team', '$key');
	SELECT vectorstore.vs_credential_set('other', 'sk-other-SECRET-0000');
	RESET log_statement;
	SELECT vectorstore.vs_credential_grant('team', 'alice');
});

# superuser: settings key works
like($node->safe_psql('postgres', "SELECT (vectorstore.vs_store_create(name => 'su')).id"),
	qr/^vs_/, 'superuser calls the API with the settings key');

sub as_alice
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-U', 'alice' ]);
	return ($ret, $out, $err);
}

# the granted role calls the API through its credential
my ($ret, $out, $err) = as_alice("SELECT (vectorstore.vs_store_create(name => 'alice')).name");
is($out, 'alice', 'granted role can call the API through its credential');

# ... and cannot read the key anywhere
my @probes = (
	"SHOW vectorstore.api_key",
	"SELECT current_setting('vectorstore.api_key')",
	"SELECT current_setting('vectorstore.api_key', true)",
	"SELECT setting FROM pg_settings WHERE name = 'vectorstore.api_key'",
	"SELECT string_agg(name || '=' || setting, ',') FROM pg_settings WHERE name LIKE 'vectorstore.%'",
	"SHOW ALL",
	"SELECT rolconfig FROM pg_roles",
	"SELECT setconfig FROM pg_db_role_setting",
	"SELECT query FROM pg_stat_activity",
	"SELECT * FROM vectorstore.credential",
	"SELECT * FROM vectorstore.credentials",
	"SELECT vectorstore.vs_credential_set('x', 'y')",
	"SET vectorstore.credential = 'other'; SELECT vectorstore.vs_stores()",
);
for my $sql (@probes)
{
	($ret, $out, $err) = as_alice($sql);
	unlike("$out\n$err", qr/SECRET/, "no key through: $sql");
}

# credentials table and management are closed to her
($ret, $out, $err) = as_alice("SELECT * FROM vectorstore.credential");
like($err, qr/permission denied/, 'credential table is not readable');
($ret, $out, $err) = as_alice("SELECT vectorstore.vs_credential_set('mine', 'sk-x')");
like($err, qr/permission denied/, 'cannot store credentials');
($ret, $out, $err) = as_alice("SET vectorstore.credential = 'other'; SELECT count(*) FROM vectorstore.vs_stores()");
like($err, qr/credential "other" does not exist or is not granted/, 'cannot use an ungranted credential');

# only the superuser decides where requests go
for my $set ("SET vectorstore.base_url = 'http://127.0.0.1:1/v1'",
	"SET vectorstore.allow_insecure_http = on",
	"SET vectorstore.api_key = 'sk-mine'",
	"ALTER ROLE alice SET vectorstore.base_url = 'http://evil.example/v1'")
{
	($ret, $out, $err) = as_alice($set);
	like($err, qr/permission denied|must be superuser/, "refused: $set");
}

# the key cannot be stored per role or database (pg_db_role_setting is public)
($ret, $out, $err) = $node->psql('postgres', "ALTER ROLE alice SET vectorstore.api_key = 'sk-leak-PROBE'");
like($err, qr/cannot be set per role or per database/, 'per-role key refused');
unlike($err, qr/PROBE/, '... without echoing the value');
($ret, $out, $err) = $node->psql('postgres', "ALTER DATABASE postgres SET vectorstore.api_key = 'sk-leak-PROBE'");
like($err, qr/cannot be set per role or per database/, 'per-database key refused');

# even the superuser sees the key masked
is($node->safe_psql('postgres', 'SHOW vectorstore.api_key'), '********', 'SHOW masks the key');

# an authentication failure does not echo the key
$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_grant('other', 'alice')");
($ret, $out, $err) = as_alice("SET vectorstore.credential = 'other'; SELECT vectorstore.vs_stores()");
like($err, qr/HTTP 401/, 'wrong key gets 401 mapped');
like($err, qr/insufficient_privilege|401/, '... reported');
unlike($err, qr/SECRET/, '... with no key in the message');
($ret, $out, $err) = $node->psql('postgres', 'SELECT 1', extra_params => [ '-U', 'alice' ]);

# two credentials granted: she must choose
($ret, $out, $err) = as_alice("SELECT vectorstore.vs_stores()");
like($err, qr/more than one credential/, 'ambiguous grants need a choice');
($ret, $out, $err) = as_alice("SET vectorstore.credential = 'team'; SELECT count(*) >= 1 FROM vectorstore.vs_stores()");
is($out, 't', 'explicit choice works');

# plain http only to loopback
($ret, $out, $err) = $node->psql('postgres',
	"SET vectorstore.base_url = 'http://example.com/v1'; SELECT vectorstore.vs_stores()");
like($err, qr/plain http:\/\/ is allowed only to loopback/, 'http to a non-loopback host refused');

# the ungranted role can do nothing
($ret, $out, $err) = $node->psql('postgres', "SELECT vectorstore.vs_stores()", extra_params => [ '-U', 'bob' ]);
like($err, qr/permission denied for schema vectorstore/, 'role without a grant is refused');

# nothing in the server log either
$node->stop;
my $log = slurp_file($node->logfile);
ok(length($log) > 1000, 'the log was written at debug1');
unlike($log, qr/\Q$key\E|sk-other-SECRET/, 'no stored key reached the server log');
$emu->stop;
done_testing();
