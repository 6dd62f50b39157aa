# Credentials across the upgrade from 0.1.0 (sql/upgrade/10_credentials.sql):
# before ALTER EXTENSION ... UPDATE the new library serves a 0.1.0 database's
# credentials and grants (rows of credential_grant); the update moves keys
# into credential_secret, makes each credential a foreign server that is not
# an extension member, turns each grant into GRANT USAGE (skipping, with a
# WARNING, a grant whose role was dropped — 0.1.0 kept its oid), and pg_dump
# of the updated database keeps the grants and no key. A credential named
# "vectorstore" stops the update with a clear message.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use VsTest;

my $key = 'sk-upgrade-SECRET-5e1f0c';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key);
my $node = VsTest::new_node('credup', $emu);
$node->start;
my $dir = tempdir(CLEANUP => 1);
sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'old', $sql); }

$node->safe_psql('postgres', 'CREATE DATABASE old; CREATE DATABASE named_vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;');
sq("CREATE EXTENSION vectorstore VERSION '0.1.0';
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
	SET log_statement = 'none';
	SELECT vectorstore.vs_credential_set('team', '$key', '" . $emu->url . "/v1');
	SELECT vectorstore.vs_credential_grant('team', 'alice');
	SELECT vectorstore.vs_credential_grant('team', 'bob');");
my $bob_oid = sq("SELECT 'bob'::regrole::oid");

# the new library, the 0.1.0 schema
my ($ret, $out, $err) = $node->psql('old', "SELECT count(*) >= 0 FROM vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
is($out, 't', 'before the update: a granted role uses its 0.1.0 credential through the new library');
($ret, $out, $err) = $node->psql('old', "SET vectorstore.credential = 'nope'; SELECT vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
like($err, qr/credential "nope" does not exist or is not granted/, 'before the update: an ungranted name is refused');

# 0.1.0 lets a role with a grant be dropped; its grant stays, keyed by the oid
sq("REVOKE USAGE ON SCHEMA vectorstore FROM bob");
$node->safe_psql('postgres', 'DROP ROLE bob');
is(sq("SELECT count(*) FROM vectorstore.credential_grant WHERE grantee = $bob_oid"), '1',
	"0.1.0 kept the dropped role's grant (oid $bob_oid)");

($ret, $out, $err) = $node->psql('old', 'ALTER EXTENSION vectorstore UPDATE');
is($ret, 0, 'ALTER EXTENSION vectorstore UPDATE');
like($err, qr/WARNING:  credential "team": grant to role oid $bob_oid skipped \(that role no longer exists\)/,
	'the grant of the dropped role is skipped, with a WARNING');

is(sq("SELECT count(*) FROM pg_attribute WHERE attrelid = 'vectorstore.credential'::regclass AND attname = 'api_key' AND NOT attisdropped"),
	'0', 'the key is no longer in vectorstore.credential');
is(sq("SELECT key FROM vectorstore.credentials WHERE name = 'team'"), 'stored', '... it is in credential_secret');
is(sq("SELECT grantees::text FROM vectorstore.credentials WHERE name = 'team'"), '{alice}', 'alice\'s grant is USAGE on server team');
is(sq("SELECT to_regclass('vectorstore.credential_grant') IS NULL"), 't', 'credential_grant is gone');
is(sq("SELECT count(*) FROM pg_depend d JOIN pg_foreign_server s ON s.oid = d.objid
	WHERE d.classid = 'pg_foreign_server'::regclass AND d.deptype = 'e' AND s.srvname = 'team'"), '0',
	'server team is not an extension member (pg_dump dumps it)');
is(sq("SELECT count(*) FROM pg_init_privs p JOIN pg_foreign_server s ON s.oid = p.objoid
	WHERE p.classoid = 'pg_foreign_server'::regclass AND s.srvname = 'team'"), '0',
	'... and its grants are not recorded as the extension\'s initial privileges');
($ret, $out, $err) = $node->psql('old', "SELECT count(*) >= 0 FROM vectorstore.vs_stores()",
	extra_params => [ '-U', 'alice' ]);
is($out, 't', 'after the update: alice uses the credential, with its key');
($ret, $out, $err) = $node->psql('old', 'DROP ROLE alice');
like($err, qr/privileges for (foreign )?server team/, 'after the update: DROP ROLE alice is refused while she holds the grant');

my $dump = "$dir/old.sql";
command_ok([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-f', $dump, 'old' ], 'pg_dump of the updated database');
my $sql = slurp_file($dump);
like($sql, qr/CREATE SERVER team FOREIGN DATA WRAPPER vectorstore_fdw/, 'the dump creates server team');
like($sql, qr/GRANT ALL ON FOREIGN SERVER team TO alice/, '... and grants it to alice');
unlike($sql, qr/\Q$key\E/, '... and holds no key');

# a 0.1.0 credential named "vectorstore" cannot become a server of that name
$node->safe_psql('named_vectorstore', "CREATE EXTENSION vectorstore VERSION '0.1.0';
	SELECT vectorstore.vs_credential_set('vectorstore', 'sk-x');");
($ret, $out, $err) = $node->psql('named_vectorstore', 'ALTER EXTENSION vectorstore UPDATE');
like($err, qr/a credential named "vectorstore" must be renamed or dropped before updating/,
	'a credential named "vectorstore" stops the update, saying what to do');
is($node->safe_psql('named_vectorstore', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"),
	'0.1.0', '... and the database stays at 0.1.0');

$node->stop;
unlike(slurp_file($node->logfile), qr/\Q$key\E/, 'no key in the log');
$emu->stop;
done_testing();
