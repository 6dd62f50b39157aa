# Red team (rt1): a database owner who is not superuser creates schema
# "vectorstore" before a superuser runs CREATE EXTENSION vectorstore VERSION
# '0.1.0' (0.1.0's control file names the schema; PostgreSQL installs into
# the existing schema, owned by the database owner). ALTER EXTENSION UPDATE
# to 0.2.0 keeps that schema as it is. As its owner, dbo renames it and
# creates a schema "vectorstore" of his own: the library resolves every name
# by "vectorstore.", and runs its queue functions and credential lookups as
# the extension's owner, so dbo's objects run as superuser.
# What should happen: the update (or the library) refuses a schema
# "vectorstore" that is not the extension's and owned by its owner, and
# nothing the library runs as the owner resolves through another schema.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start();
my $node = VsTest::new_node('rt_schema', $emu);
$node->start;

$node->safe_psql('postgres', 'CREATE ROLE dbo LOGIN; CREATE DATABASE owned OWNER dbo');
$node->safe_psql('owned', 'CREATE SCHEMA vectorstore', extra_params => [ '-U', 'dbo' ]);
$node->safe_psql('owned', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
my ($ret, $out, $err) = $node->psql('owned', 'ALTER EXTENSION vectorstore UPDATE');
note("update: ret $ret $err");

($ret, $out, $err) = $node->psql('owned', q{
	ALTER SCHEMA vectorstore RENAME TO vs_real;
	CREATE SCHEMA vectorstore;
	CREATE FUNCTION public.evil() RETURNS text LANGUAGE plpgsql AS $$
	BEGIN EXECUTE 'ALTER ROLE dbo SUPERUSER'; RETURN NULL; END $$;
	CREATE VIEW vectorstore.credential AS
	    SELECT NULL::text AS name, NULL::text AS base_url, NULL::text AS organization,
	           NULL::text AS project, NULL::text AS auth, NULL::jsonb AS query,
	           NULL::text[] AS header_names, NULL::text AS key_file
	    WHERE public.evil() IS NOT NULL;
	CREATE TABLE vectorstore.credential_grant (credential text, grantee oid);
	CREATE FUNCTION vectorstore._job_enqueue(name, text, text, text, bytea, jsonb, jsonb, jsonb)
	RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM public.evil(); RETURN 1; END $$;
	SELECT vs_real.vs_enqueue_upload('vs_x', 'a.txt', 'x');
}, extra_params => [ '-U', 'dbo' ]);
note("attack: ret $ret $err");

is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbo'"), 'f',
	'a database owner who made schema vectorstore before a 0.1.0 install does not become superuser');

# the update's layer (01_schema.sql): the schema is now the extension
# owner's, so the database owner can no longer rename it
is($node->safe_psql('owned', "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'vectorstore'"),
	'postgres', 'after the update the extension\'s schema belongs to the extension\'s owner');
like($err, qr/must be owner of schema vectorstore/, 'the database owner may not rename it');

# the update's refusals (01_schema.sql): a schema holding a role's own
# objects among the extension's, and a schema replaced before the update
$node->safe_psql('postgres', 'CREATE ROLE dbo3 LOGIN; CREATE DATABASE owned3 OWNER dbo3');
$node->safe_psql('owned3', 'CREATE SCHEMA vectorstore', extra_params => [ '-U', 'dbo3' ]);
$node->safe_psql('owned3', "CREATE EXTENSION vectorstore VERSION '0.1.0'");
$node->safe_psql('owned3', 'CREATE FUNCTION vectorstore.helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
	extra_params => [ '-U', 'dbo3' ]);
($ret, $out, $err) = $node->psql('owned3', 'ALTER EXTENSION vectorstore UPDATE');
like($err, qr/holds objects that are neither the extension's nor a superuser's: function vectorstore\.helper\(\)/,
	'the update refuses a schema holding a role\'s function, naming it');
$node->safe_psql('owned3', 'DROP FUNCTION vectorstore.helper(); ALTER SCHEMA vectorstore RENAME TO vs_moved; CREATE SCHEMA vectorstore',
	extra_params => [ '-U', 'dbo3' ]);
($ret, $out, $err) = $node->psql('owned3', 'ALTER EXTENSION vectorstore UPDATE');
like($err, qr/schema "vectorstore" is not the schema extension vectorstore was installed into/,
	'the update refuses a schema put in place of the one the extension was installed into');
is($node->safe_psql('owned3', "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'"), '0.1.0',
	'and stays at 0.1.0');

# the library's layer (vs_extension_schema_problem): with the schema in a
# role's hands anyway (a superuser's mistake, here on a fresh 0.2.0
# install), nothing runs there with borrowed rights
$node->safe_psql('postgres', 'CREATE ROLE dbo2 LOGIN; CREATE DATABASE owned2 OWNER dbo2');
$node->safe_psql('owned2', 'CREATE EXTENSION vectorstore; ALTER SCHEMA vectorstore OWNER TO dbo2');
($ret, $out, $err) = $node->psql('owned2', q{
	ALTER SCHEMA vectorstore RENAME TO vs_real;
	CREATE SCHEMA vectorstore;
	CREATE FUNCTION public.evil() RETURNS text LANGUAGE plpgsql AS $$
	BEGIN EXECUTE 'ALTER ROLE dbo2 SUPERUSER'; RETURN NULL; END $$;
	CREATE FUNCTION vectorstore._job_enqueue(name, text, text, text, bytea, jsonb, jsonb, jsonb)
	RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM public.evil(); RETURN 1; END $$;
	SELECT vs_real.vs_enqueue_upload('vs_x', 'a.txt', 'x');
}, extra_params => [ '-U', 'dbo2' ]);
like($err, qr/schema "vectorstore" is not the extension's schema/, 'a replaced schema is refused, with the reason');
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbo2'"), 'f',
	'the role that held the schema did not become superuser');
$node->safe_psql('owned2', 'DROP SCHEMA vectorstore CASCADE; ALTER SCHEMA vs_real RENAME TO vectorstore');
($ret, $out, $err) = $node->psql('owned2', "SELECT vectorstore.vs_enqueue_upload('vs_x', 'a.txt', 'x')",
	extra_params => [ '-U', 'dbo2' ]);
like($err, qr/schema "vectorstore" is owned by a role that is not a superuser/,
	'a schema a role owns is refused too');

$node->stop('immediate');
$emu->stop;
done_testing();
