# Rotating keys leaves no trace of any key in the server log, in errors or in
# job rows — at log_min_messages = debug5, with the library preloaded and
# not. Routes: ALTER SYSTEM SET vectorstore.api_key + reload (with
# log_statement = none for that statement), the settings key file
# (vectorstore.api_key_file), and a named credential's key file; the key-file
# routes with log_statement = all too. What cannot be covered is asserted as
# the README states it, so the documentation stays true:
#   - not preloaded, the postmaster (which never loads the library) logs the
#     reload message of vectorstore.api_key with the key;
#   - at debug3 or lower the postmaster logs its environment at start, before
#     any library is loaded: OPENAI_API_KEY included;
#   - pg_stat_statements keeps utility statements (ALTER SYSTEM) verbatim.
# Every key is used on the wire (the emulator's request log) so a test that
# finds no trace is not one that never rotated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use VsTest;

my $strict_key = 'sk-strict-0000000000';
my $open = VsTest::Emulator->start(processing_delay_ms => 10);	# any key: we read it on the wire
my $strict = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $strict_key);	# 401 echoes the key

sub write_key
{
	my ($path, $content) = @_;
	open(my $fh, '>', "$path.tmp") or die;
	print $fh $content;
	close $fh;
	chmod(0600, "$path.tmp");
	rename("$path.tmp", $path) or die;
}

for my $mode ('preloaded', 'not preloaded')
{
	my $pre = $mode eq 'preloaded';
	my $tag = $pre ? 'P' : 'N';
	my %k = map { $_ => "sk-$tag-$_-ROT" . ('x' x 8) } qw(ENV A1 A2 F1 F2 N1 N2 W1 W2 T1);
	my $dir = tempdir(CLEANUP => 1);
	local $ENV{OPENAI_API_KEY} = $k{ENV};
	my $node = VsTest::new_node($pre ? 'rot_pre' : 'rot_nopre', $open,
		preload => $pre ? 'vectorstore,pg_stat_statements' : 'pg_stat_statements',
		conf => [ "log_min_messages = debug5", "log_min_error_statement = debug5",
			"log_statement = 'none'", "vectorstore.worker_naptime = '200ms'",
			"vectorstore.launcher_naptime = '1s'" ]);
	$node->start;
	delete $ENV{OPENAI_API_KEY};
	my $n = 0;
	sub sqn { my ($node, $sql, %o) = @_; return $node->safe_psql('postgres', $sql, %o); }
	my $reload = sub {
		# a non-secret setting changed with it tells when every process has it
		$n++;
		sqn($node, "ALTER SYSTEM SET work_mem = '" . (4000 + $n) . "kB'; SELECT pg_reload_conf()");
		$node->poll_query_until('postgres', "SELECT current_setting('work_mem') = '" . (4000 + $n) . "kB'")
		  or die "reload not seen";
	};
	my $sent = sub {
		# the key the last POST carried on the wire of emulator $e
		my ($e) = @_;
		my ($r) = reverse grep { $_->{method} eq 'POST' } @{ $e->requests };
		return $r ? $r->{headers}{authorization} : undef;
	};
	sqn($node, q{CREATE EXTENSION vectorstore; CREATE EXTENSION pg_stat_statements;
		CREATE ROLE alice LOGIN; GRANT USAGE ON SCHEMA vectorstore TO alice;});
	my $vs = sqn($node, "SELECT id FROM vectorstore.vs_store_create(name => 'rot')");

	# the environment: the key in effect when nothing else is set
	is($sent->($open), "Bearer $k{ENV}", "$mode: OPENAI_API_KEY from the server's environment is used");

	# route 1: ALTER SYSTEM + reload, log_statement = none for that statement
	for my $a (qw(A1 A2))
	{
		# (a session must have loaded the library to know the setting)
		sqn($node, "LOAD 'vectorstore'; ALTER SYSTEM SET vectorstore.api_key = '$k{$a}'");
		$reload->();
		sqn($node, "SELECT vectorstore.vs_store_create(name => 'alter-system')");
		is($sent->($open), "Bearer $k{$a}", "$mode: ALTER SYSTEM + reload rotated the key to $a");
	}
	sqn($node, "LOAD 'vectorstore'; ALTER SYSTEM RESET vectorstore.api_key");

	# from here on every statement is logged
	sqn($node, "ALTER SYSTEM SET log_statement = 'all'");
	$reload->();

	# a key typed into SQL under log_statement = all: preloaded, its literals
	# are masked in the statement's log line; not preloaded, a session's
	# first statement is logged before the library is loaded (documented)
	sqn($node, "SELECT vectorstore.vs_credential_set('typed', '$k{T1}', base_url => '" . $open->url . "/v1')");

	# route 2: the settings key file, rotated by replacing the file
	write_key("$dir/settings.key", "$k{F1}\n");
	sqn($node, "LOAD 'vectorstore'; ALTER SYSTEM SET vectorstore.api_key_file = '$dir/settings.key'");
	$reload->();
	sqn($node, "SELECT vectorstore.vs_store_create(name => 'file')");
	is($sent->($open), "Bearer $k{F1}", "$mode: vectorstore.api_key_file is read at use");
	write_key("$dir/settings.key", "$k{F2}\n");
	sqn($node, "SELECT vectorstore.vs_store_create(name => 'file')");
	is($sent->($open), "Bearer $k{F2}", "$mode: a replaced key file is read again, no reload needed");
	$reload->();
	sqn($node, "SELECT vectorstore.vs_store_create(name => 'file')");
	is($sent->($open), "Bearer $k{F2}", "$mode: ... and after a reload");

	# route 3: a named credential's key file
	write_key("$dir/named.key", $k{N1});
	sqn($node, "SELECT vectorstore.vs_credential_set('kf', key_file => '$dir/named.key', base_url => '" . $open->url . "/v1');
		SELECT vectorstore.vs_credential_grant('kf', 'alice')");
	sqn($node, "SELECT vectorstore.vs_store_create(name => 'named')", extra_params => [ '-U', 'alice' ]);
	is($sent->($open), "Bearer $k{N1}", "$mode: a named credential's key file is used");
	write_key("$dir/named.key", $k{N2});
	sqn($node, "SELECT vectorstore.vs_store_create(name => 'named')", extra_params => [ '-U', 'alice' ]);
	is($sent->($open), "Bearer $k{N2}", "$mode: ... and rotated by replacing the file");

	# wrong keys from key files against a server whose 401 echoes them: errors and job rows
	write_key("$dir/wrong.key", $k{W1});
	sqn($node, "SELECT vectorstore.vs_credential_set('wrong', key_file => '$dir/wrong.key', base_url => '" . $strict->url . "/v1');
		SELECT vectorstore.vs_credential_revoke('kf', 'alice'); SELECT vectorstore.vs_credential_grant('wrong', 'alice')");
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vectorstore.vs_stores()",
		extra_params => [ '-U', 'alice' ]);
	like($err, qr/HTTP 401/, "$mode: a wrong key from a key file gets 401");
	unlike($err, qr/\Q$k{W1}\E/, "$mode: ... and no part of the error (message, detail, hint, context) holds it");
	like($err, qr/\[redacted\]/, "$mode: ... the echoed key was replaced");
	write_key("$dir/settings.key", $k{W2});
	($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET vectorstore.base_url = '" . $strict->url . "/v1'; SELECT vectorstore.vs_stores()");
	like($err, qr/HTTP 401/, "$mode: the settings key file with a wrong key gets 401");
	unlike($err, qr/\Q$k{W2}\E/, "$mode: ... and the error does not hold it");
	if ($pre)
	{
		# the worker (preloaded only) records failures in job rows
		my $job = sqn($node, "SELECT vectorstore.vs_enqueue_upload('$vs', 'w.txt', 'wrong key')",
			extra_params => [ '-U', 'alice' ]);
		$node->poll_query_until('postgres', "SELECT status = 'failed' FROM vectorstore.jobs WHERE id = $job")
		  or diag('job did not fail: ' . sqn($node, "SELECT status || ' ' || coalesce(last_error, '') FROM vectorstore.jobs WHERE id = $job"));
		my $row = sqn($node, "SELECT j::text FROM vectorstore.jobs j WHERE id = $job");
		like($row, qr/401/, "$mode: the job failed with the 401");
		unlike($row, qr/\Q$k{W1}\E/, "$mode: ... and its row holds no key");
	}

	# pg_stat_statements: the key-file routes leave nothing; ALTER SYSTEM is kept verbatim
	my $pgss = sqn($node, "SELECT string_agg(query, E'\\n') FROM pg_stat_statements");
	unlike($pgss, qr/\Q$k{$_}\E/, "$mode: no $_ key in pg_stat_statements") for qw(F1 F2 N1 N2 W1 W2);
	like($pgss, qr/\Q$k{A1}\E/, "$mode: documented: pg_stat_statements keeps ALTER SYSTEM SET vectorstore.api_key verbatim");

	$node->stop;
	my $log = slurp_file($node->logfile);
	ok(length($log) > 50_000, "$mode: the log was written at debug5 (" . length($log) . ' bytes)');
	like($log, qr/statement: SELECT vectorstore.vs_credential_set\(/, "$mode: log_statement = all was in effect");
	for my $r (qw(F1 F2 N1 N2 W1 W2))
	{
		unlike($log, qr/\Q$k{$r}\E/, "$mode: key-file route: no trace of key $r in the log");
	}
	if ($pre)
	{
		unlike($log, qr/\Q$k{$_}\E/, "$mode: ALTER SYSTEM route: no trace of key $_ in the log") for qw(A1 A2);
		unlike($log, qr/\Q$k{T1}\E/, "$mode: a key typed into vs_credential_set under log_statement = all: no trace");
		like($log, qr/statement: SELECT vectorstore.vs_credential_set\('\*\*\*', '\*\*\*', base_url => '\*\*\*'\)/,
			"$mode: ... its statement was logged with its literals masked");
		like($log, qr/parameter "vectorstore.api_key" changed \(the new value is not shown\)/,
			"$mode: the reload message names the setting only");
	}
	else
	{
		like($log, qr/LOG:  parameter "vectorstore.api_key" changed to "\Q$k{A1}\E"/,
			"$mode: documented: without preloading the postmaster logs the reload message with the key");
		like($log, qr/statement: SELECT vectorstore.vs_credential_set\('typed', '\Q$k{T1}\E'/,
			"$mode: documented: without preloading a session's first statement is logged as typed");
	}
	like($log, qr/\Q$k{ENV}\E/,
		"$mode: documented: at debug3 the postmaster logs its environment (OPENAI_API_KEY) before loading libraries");
}

$open->stop;
$strict->stop;
done_testing();
