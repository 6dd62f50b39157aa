# Servers that echo the secrets a request carried — the emulator's 401
# ("Incorrect API key provided: <key>"), its echo_secrets fault (the key in
# every error field and in x-request-id), and a hostile server that echoes
# every request header (the key and a secret default header) into every error
# field and response header, cuts the echo where a client would truncate it,
# puts it in a plain-text body or in the fields of a 2xx answer. None of it
# may surface: not in an error's message, detail, hint or context, not in a
# row of vs_upload_many, not in a job row, not in the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $key = 'sk-scrub-SECRET-' . ('k' x 32);			# long: truncations cut inside it
my $token = 'tok-scrub-SECRET-' . ('t' x 24);		# a secret default header
my $wrong = 'sk-wrong-SECRET-' . ('w' x 24);
my $emu = VsTest::Emulator->start(processing_delay_ms => 10, api_key => $key);
my $h = VsTest::Hostile->start;
my $node = VsTest::new_node('scrub', $emu, conf => [
	"vectorstore.api_key = '$key'", "log_min_messages = debug1", "log_min_error_statement = error",
	"vectorstore.worker_naptime = '200ms'", "vectorstore.launcher_naptime = '1s'",
	"vectorstore.max_retries = 0" ]);
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	SET log_statement = 'none';
	SELECT vectorstore.vs_credential_set('echo', '$key', base_url => '@{[ $h->url('echo') ]}',
		organization => 'org-1', headers => '{"X-Api-Token": "$token"}');
	SELECT vectorstore.vs_credential_grant('echo', 'alice');
});
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'scrub')");

# an error in full (message, detail, hint, context), as alice or the superuser
sub call
{
	my ($sql, %o) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		$o{user} ? (extra_params => [ '-U', $o{user} ]) : ());
	return "$out\n$err";
}
sub clean
{
	my ($what, $text, %o) = @_;
	unlike($text, qr/\Q$key\E/, "$what: no key");
	unlike($text, qr/\Q$token\E/, "$what: no secret header value");
	unlike($text, qr/\Q$wrong\E/, "$what: no wrong key") if $o{wrong};
	# a cut echo: no start of half a secret or more survives either (a
	# shorter start is left as it is: redacting any start would tell a
	# caller who controls the end of an echo whether a guess was right, one
	# character at a time - 187_redteam_scrub_oracle)
	for my $s ($key, $token, $wrong)
	{
		my $half = substr($s, 0, (length($s) + 1) >> 1);
		unlike($text, qr/\Q$half\E/, "$what: no cut-off half of a secret");
	}
	like($text, qr/\[redacted\]/, "$what: the echo was there, and was replaced") unless $o{no_echo};
}

# the emulator's 401 echoes a wrong key, as the real service does
my $e = call("SET vectorstore.api_key = '$wrong'; SELECT vectorstore.vs_stores()");
like($e, qr/HTTP 401 \(invalid_request_error, invalid_api_key\)/, '401: a wrong key is refused');
like($e, qr/Incorrect API key provided: \[redacted\]/, '401: the key in the message is replaced');
clean('401', $e, wrong => 1);

# the emulator's echo_secrets fault: the key and identity in every field and header
$node->safe_psql('postgres', "SELECT 1");
for my $status (400, 401, 404, 500)
{
	$emu->fault({ kind => 'echo_secrets', count => 1, status => $status });
	$e = call("SET vectorstore.organization = 'org-x'; SET vectorstore.project = 'proj-x';"
		  . " SELECT vectorstore.vs_store_get('$vs')");
	like($e, qr/HTTP $status/, "echo_secrets $status: reported");
	like($e, qr/CONTEXT:.*x-request-id/, "echo_secrets $status: with the x-request-id in the context");
	clean("echo_secrets $status", $e);
}
$emu->clear_faults;

# a hostile server: every request header echoed in every field, the key cut
# by our 127-byte x-request-id, in a text excerpt, and in a 2xx answer
for my $mode (qw(echo echo401 echotext echo200))
{
	$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_set('echo', '$key', base_url => '"
		  . $h->url($mode) . "', organization => 'org-1', headers => '{\"X-Api-Token\": \"$token\"}')");
	for my $fn ("vectorstore.vs_store_get('vs_1')", "vectorstore.vs_stores()",
		"vectorstore.vs_file_upload('a.txt', 'hello')")
	{
		$e = call("SELECT $fn", user => 'alice');
		like($e, qr/ERROR/, "$mode: $fn fails");
		# a list answered by an object is refused before any field is shown
		clean("$mode: $fn", $e, no_echo => ($mode eq 'echo200' && $fn =~ /vs_stores/));
	}
}

# rows that record a failure without raising: vs_upload_many
$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_set('echo', '$key', base_url => '"
	  . $h->url('echo') . "', organization => 'org-1', headers => '{\"X-Api-Token\": \"$token\"}')");
$e = call("SELECT string_agg(coalesce(error, '-'), E'\\n') FROM vectorstore.vs_upload_many('$vs',
	ARRAY['a.txt', 'b.txt'], ARRAY['one', 'two'], wait => false)", user => 'alice');
like($e, qr/HTTP 400/, 'vs_upload_many: each row records the failure');
clean('vs_upload_many rows', $e);

# job rows: the worker records the failure
my $job = $node->safe_psql('postgres', "SELECT vectorstore.vs_enqueue_upload('$vs', 'job.txt', 'echo me')",
	extra_params => [ '-U', 'alice' ]);
$node->poll_query_until('postgres', "SELECT status = 'failed' FROM vectorstore.jobs WHERE id = $job")
  or diag($node->safe_psql('postgres', "SELECT status || ' ' || coalesce(last_error, '') FROM vectorstore.jobs WHERE id = $job"));
my $row = $node->safe_psql('postgres', "SELECT j::text FROM vectorstore.jobs j WHERE id = $job");
like($row, qr/HTTP 400/, 'job row: the failure is recorded');
clean('job row', $row);

# and the server log
$node->stop;
my $log = slurp_file($node->logfile);
like($log, qr/ERROR:  vector store API returned HTTP 400/, 'the errors reached the server log');
clean('server log', $log, wrong => 1);
$emu->stop;
$h->stop;
done_testing();
