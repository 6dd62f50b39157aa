# Red team round ten: a role queues one upload whose request body cannot be
# built. An upload's extra_body form fields are written out in full, each
# nested key in bracket notation for every leaf (vs_form_fields): one key of
# 10,000 characters over 110,000 empty leaves is ~1 MB of jsonb in the job
# row and a multipart body of ~1.1 GB, more than a StringInfo may hold
# (MaxAllocSize). vs_multipart_body raises "out of memory: Cannot enlarge
# string buffer containing 1073741xxx bytes by NN more bytes" in
# vs_wire_build (vq_unit_send), outside vq_build's catch. The ERROR reaches
# the worker's main loop, which aborts every request in flight (every
# role's, "left to its lease"), sleeps 5 s, and leaves the job 'uploading'
# with attempts 0: after its lease (worker_reconcile_delay) the sweep puts it
# back to 'queued', it is claimed again (another 2 GB built) and the same
# ERROR follows -- for ever: attempts never grow, so worker_max_attempts
# never ends it. (The same with 1,073,740,000 bytes of content and 50 form
# fields: the row fits, the body does not.)
# Found (reconcile delay 8 s): the ERROR at every cycle (3 in 24 s), the
# job 'uploading'/'queued' with 0 attempts throughout; the victim's 88
# uploads (one queued every 0.25 s) took 2.4 s on average and up to 13.6 s
# (another run: 7 ERRORs, up to 68 s -- an upload whose request was
# aborted in flight waits for its lease and the sweep; with the 1 GB-content
# form: 4 ERRORs in 31 s, up to 7.3 s).
# What should have happened: a job whose request cannot be built fails
# alone, at once (as vq_build's errors do), with an error on its row; no
# ERROR in the worker's loop, no other role's work dropped or delayed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('hugebody', $emu, conf => [ VsWorkerTest::conf(reconcile => '8s') ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq("CREATE EXTENSION vectorstore;");
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    GRANT USAGE ON FOREIGN SERVER vectorstore TO $r;");
}
my $vs = as('victim', "SELECT id FROM vectorstore.vs_store_create(name => 'v')");
my $ms = as('mallory', "SELECT id FROM vectorstore.vs_store_create(name => 'm')");
my $t0 = time;
my $opts = "jsonb_build_object('extra_body', jsonb_build_object(repeat('k', 10000),
    (SELECT jsonb_object_agg('a' || i, '') FROM generate_series(1, 110000) i)))";
# Mended (round ten and eleven): the role's enqueue is refused at once (an
# extra_body over 1 MB as JSON) ...
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT vectorstore.vs_enqueue_upload('$ms', 'big.txt', 'x', request_options => $opts)",
	extra_params => [ '-U', 'mallory' ]);
like($err, qr/extra_body is \d+ bytes as JSON; at most 1024 kB/, 'the enqueue is refused with the bound');
# ... and a job with those options that is already queued (from before the
# bound: put in the table here) fails alone when its body is built
my $big = sq("INSERT INTO vectorstore.job (vector_store_id, filename, content, owner, request_options)
              VALUES ('$ms', 'big.txt', 'x', 'mallory', $opts) RETURNING id");
diag(sprintf("mallory's enqueue took %.1f s", time - $t0));

# the victim queues an upload every 0.25 s for 24 s (three of the poison's cycles)
$t0 = time;
my @ids;
while (time - $t0 < 24)
{
	push @ids, as('victim', "SELECT vectorstore.vs_enqueue_upload('$vs', 'v.txt', 'victim')");
	usleep(250_000);
}
my $ids = join(',', @ids);
# (at most 15 s more: a job still unfinished counts with its age)
my $t1 = time;
while (time - $t1 < 15)
{
	last if sq("SELECT count(*) = 0 FROM vectorstore.job WHERE id IN ($ids) AND status NOT IN ('completed', 'failed')") eq 't';
	usleep(200_000);
}
my $lat = sq("SELECT round(max(extract(epoch FROM coalesce(finished_at, now()) - created_at))::numeric, 1) || ' s max, '
                     || round(avg(extract(epoch FROM coalesce(finished_at, now()) - created_at))::numeric, 1) || ' s mean, '
                     || count(*) FILTER (WHERE status <> 'completed') || ' not completed'
              FROM vectorstore.job WHERE id IN ($ids)");
my $max = sq("SELECT max(extract(epoch FROM coalesce(finished_at, now()) - created_at)) FROM vectorstore.job WHERE id IN ($ids)");
my $bigst = sq("SELECT status || ' (' || attempts || ' attempts) ' || coalesce(left(last_error, 120), '') FROM vectorstore.job WHERE id = $big");
my $log = slurp_file($node->logfile);
my $errs = () = $log =~ /ERROR:  out of memory\n[^\n]*Cannot enlarge string buffer/g;
diag(sprintf("after %.0f s: mallory's job %s; the worker's loop raised the ERROR %d times; the victim's %d uploads: %s",
	time - $t0, $bigst, $errs, scalar(@ids), $lat));

is($errs, 0, "a job whose body cannot be built raises no ERROR in the worker's loop");
like($bigst, qr/^failed/, "that job fails (it is not claimed again for ever)");
cmp_ok($max, '<', 8, "the victim's uploads are not held up by it");

$node->stop('immediate');
$emu->stop;
done_testing();
