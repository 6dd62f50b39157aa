# Red team round nine: removals on a credential whose room is 1 (a slow
# shared credential: worker_concurrency 2, one request held by its server).
# _job_claim_removals takes the deletes and the discards (files of failed or
# cancelled jobs) from two fair picks, each numbering its own turns from 1,
# and then fills the credential's room from both in (turn, id) order
# (rm's nth), which drops the open count and the round: mallory's oldest
# discard and the victim's delete are both turn 1, and the discard's id is
# lower, so it wins the one place at every claim. The victim's delete (a
# row removed from its sync) waits for every one of mallory's discards.
# Found: 60 discards pending (mallory's uploads and attaches all done), the
# victim's delete completed after 33 s with all 60 removed ahead of it (4
# of 5 runs; in one the victim's delete went first, none of the discards
# having started yet -- a timing not understood in the time available).
# What should have happened: within a credential's room, deletes and
# discards of different owners take turns (the victim's delete comes within
# a few of mallory's discards, as 201/203 expect for the other orders).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

# deletes (detach, delete) take 250 ms each; attaches to vs_hang are held
my $emu = VsTest::Emulator->start(processing_delay_ms => 10,
	args => [ '--latency', 'delete=250', '--fault', 'kind=stall,stall_ms=600000,route=vs_hang,rate=1' ]);
my $node = VsTest::new_node('discardroom', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s', max_attempts => 1),
		"vectorstore.worker_request_timeout = '120s'",
		"vectorstore.worker_concurrency = 2",
		"vectorstore.worker_batch_size = 100" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

my $eurl = $emu->url;
sq(qq{
	CREATE EXTENSION vectorstore;
	SELECT vectorstore.vs_credential_set('h1', 'sk-h1', '$eurl/v1');
	CREATE TABLE public.rm_log (n bigserial, owner name, what text, at timestamptz DEFAULT clock_timestamp());
	CREATE FUNCTION public.log_rm() RETURNS trigger LANGUAGE plpgsql AS
	  \$\$ BEGIN
	    IF OLD.file_id IS NOT NULL AND NEW.file_id IS NULL AND NEW.status IN ('failed', 'cancelled') THEN
	      INSERT INTO public.rm_log(owner, what) VALUES (NEW.owner, 'discard');
	    ELSIF OLD.status = 'deleting' AND NEW.status = 'completed' THEN
	      INSERT INTO public.rm_log(owner, what) VALUES (NEW.owner, 'delete');
	    END IF;
	    RETURN NULL; END \$\$;
	CREATE TRIGGER log_rm AFTER UPDATE ON vectorstore.job FOR EACH ROW EXECUTE FUNCTION public.log_rm();
});
for my $r (qw(mallory victim))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    SELECT vectorstore.vs_credential_grant('h1', '$r')");
}
sq("CREATE TABLE public.notes (id int PRIMARY KEY, body text); ALTER TABLE public.notes OWNER TO victim;");
my $vs = as('victim', "SET vectorstore.credential = 'h1'; SELECT id FROM vectorstore.vs_store_create(name => 'v')");
as('victim', "INSERT INTO public.notes VALUES (1, 'one'), (2, 'two');
              SET vectorstore.credential = 'h1';
              SELECT vectorstore.vs_sync_create('notes', 'public.notes', '$vs', 'id', 'body');
              SELECT vectorstore.vs_sync_run('notes');");
$node->poll_query_until('postgres', "SELECT count(*) = 2 FROM vectorstore.job WHERE owner = 'victim' AND status = 'completed'")
  or die 'the victim\'s sync did not complete';

# mallory: one attach the server holds (h1 turns slow: room 1), then uploads
# whose attach fails (no such store): each leaves a file to discard
as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_hang', 'hang.txt', 'hang')");
usleep(3_000_000);
as('mallory', "SET vectorstore.credential = 'h1'; SELECT count(vectorstore.vs_enqueue_upload('vs_gone', 'm' || i || '.txt', 'm ' || i))
               FROM generate_series(1, 60) i");
my $t0 = time;
while (time - $t0 < 40)
{
	# every upload and attach of mallory's done (they share the room), her files to discard left
	last if sq("SELECT count(*) FILTER (WHERE status IN ('queued', 'uploading', 'uploaded', 'attaching') AND vector_store_id <> 'vs_hang') = 0
	                   AND count(*) FILTER (WHERE status = 'failed' AND file_id IS NOT NULL) >= 20
	            FROM vectorstore.job WHERE owner = 'mallory'") eq 't';
	usleep(100_000);
}
# the victim removes a row: its sync queues a delete
my $mark = sq("SELECT coalesce(max(n), 0) FROM public.rm_log");
my $pending = sq("SELECT count(*) FROM vectorstore.job WHERE owner = 'mallory' AND file_id IS NOT NULL AND status IN ('failed', 'cancelled')");
as('victim', "DELETE FROM public.notes WHERE id = 2; SELECT vectorstore.vs_sync_run('notes')");
diag("mallory's files to discard when the victim's delete was queued: $pending; "
	. sq("SELECT string_agg(id || ':' || status, ' ') FROM vectorstore.job WHERE owner = 'victim' AND kind = 'delete'"));
$t0 = time;
my $vq = '';
while (time - $t0 < 45)
{
	$vq = sq("SELECT min(n) FROM public.rm_log WHERE owner = 'victim' AND what = 'delete' AND n > $mark");
	last if $vq ne '';
	usleep(100_000);
}
my $took = time - $t0;
my $ahead = sq("SELECT count(*) FROM public.rm_log WHERE owner = 'mallory' AND n > $mark"
	. ($vq ne '' ? " AND n < $vq" : ''));
diag(sprintf("the victim's delete completed at %s after %.1f s; mallory's discards removed in between: %d",
	$vq || 'never', $took, $ahead));
diag(sq("SELECT owner, kind, status, file_id IS NOT NULL, count(*) FROM vectorstore.job GROUP BY 1,2,3,4 ORDER BY 1,2,3,4"));
cmp_ok($ahead, '<=', 6,
	"on a credential with room 1, another role's delete comes within a few of the discards, not after all of them");

$node->stop('immediate');
$emu->stop;
done_testing();
