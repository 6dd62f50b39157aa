# Red team, round four: the update gives schema "vectorstore" to the
# extension's owner (sql/upgrade/01_schema.sql) after checking it holds no
# role's objects, but keeps the schema's ACL. A database owner who created
# the schema before a 0.1.0 install grants CREATE on it to PUBLIC while he
# owns it; ALTER SCHEMA ... OWNER TO rewrites that grant as the new owner's
# ("=C/postgres"), so after the update every role may still create
# functions, operators and tables in the schema the library trusts (the
# very objects the update refused to find there), and neither the update
# nor vs_extension_schema_problem() sees it.
# Should: after the update no role but the extension's owner (and
# superusers) may create in the schema (or the update refuses, naming the
# grant). Fails today: dbo creates vectorstore.mine() after the update.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start();
my $node = VsTest::new_node('rt_schema_acl', $emu);
$node->start;

$node->safe_psql('postgres', 'CREATE ROLE dbo LOGIN; CREATE ROLE alice LOGIN; CREATE DATABASE owned OWNER dbo');
$node->safe_psql('owned', 'CREATE SCHEMA vectorstore; GRANT CREATE ON SCHEMA vectorstore TO PUBLIC',
	extra_params => [ '-U', 'dbo' ]);
$node->safe_psql('owned', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
my ($ret, $out, $err) = $node->psql('owned', 'ALTER EXTENSION vectorstore UPDATE');
note("update: ret $ret $err");
note('acl: ' . $node->safe_psql('owned', "SELECT nspacl FROM pg_namespace WHERE nspname = 'vectorstore'"));

if ($ret == 0)
{
	is($node->safe_psql('owned', q{SELECT count(*) FROM pg_roles r
		WHERE NOT r.rolsuper AND has_schema_privilege(r.oid, 'vectorstore', 'CREATE')}), '0',
		'after the update no role that is not superuser may create in schema vectorstore');
	for my $role ('dbo', 'alice')
	{
		($ret, $out, $err) = $node->psql('owned',
			"CREATE FUNCTION vectorstore.${role}_mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
			extra_params => [ '-U', $role ]);
		isnt($ret, 0, "$role cannot create a function in the extension's schema after the update");
	}
}
else
{
	like($err, qr/CREATE|grant|privilege/i, 'the update refuses a schema others may create in, naming the grant');
}

$node->stop('immediate');
$emu->stop;
done_testing();
