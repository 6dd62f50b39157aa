# Red team (server side): a key echoed in a failed file's last_error reaches
# a job row that a role granted the credential (but not allowed to read its
# key) reads through vectorstore.jobs.
#
# The credential's server (proxy.pl 'failecho', in front of the emulator)
# fails the file batch and lists each file failed with last_error.message
# quoting the request's Authorization header. The worker copies
# "file processing failed: <code>: <message>" into job.last_error without
# scrubbing it; vs_upload_many puts the same message in its error column: every string that comes back from a server should have the
# request's secrets replaced by [redacted], as error answers do.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;
use VsWorkerTest;

my $key = 'sk-redteam-FAILECHO-0123456789abcdef';
my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $proxy = VsWorkerTest::Proxy->start($emu);
my $node = VsTest::new_node('failecho', $emu, conf => [ VsWorkerTest::conf(max_attempts => 1) ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }

sq("CREATE EXTENSION vectorstore;
    CREATE ROLE bob LOGIN; GRANT USAGE ON SCHEMA vectorstore TO bob;
    SELECT vectorstore.vs_credential_set('fe', '$key', '" . $proxy->url('failecho') . "');
    SELECT vectorstore.vs_credential_grant('fe', 'bob');");
my $vs = sq("SET vectorstore.credential = 'fe'; SELECT id FROM vectorstore.vs_store_create(name => 'fe')");
my $job = $node->safe_psql('postgres',
	"SET vectorstore.credential = 'fe'; SELECT vectorstore.vs_enqueue_upload('$vs', 'f.txt', 'content')",
	extra_params => [ '-U', 'bob' ]);
VsWorkerTest::wait_idle($node);

my $seen = $node->safe_psql('postgres', "SELECT status || ': ' || coalesce(last_error, '') FROM vectorstore.jobs WHERE id = $job",
	extra_params => [ '-U', 'bob' ]);
like($seen, qr/^failed: file processing failed/, "bob's job failed with the file's error");
unlike($seen, qr/FAILECHO/, 'the key is not in the job row bob reads');
# the same string in vs_upload_many's error column, in bob's own session
my $row = $node->safe_psql('postgres',
	"SET vectorstore.credential = 'fe'; SELECT status || ': ' || coalesce(error, '') FROM vectorstore.vs_upload_many('$vs', ARRAY['m.txt'], ARRAY['x'])",
	extra_params => [ '-U', 'bob' ]);
like($row, qr/^failed: server_error/, "vs_upload_many's row says the file failed");
unlike($row, qr/FAILECHO/, "the key is not in vs_upload_many's error column");
my $log = slurp_file($node->logfile);
unlike($log, qr/FAILECHO/, 'the key is not in the server log');

$node->stop('immediate');
$proxy->stop;
$emu->stop;
done_testing();
