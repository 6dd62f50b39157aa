# Table sync: 2,000 rows ingested and searchable, then 100 changed and 50
# deleted leave the store holding exactly the current rows with no orphan
# files; sync_rows joins search results back to rows; trigger mode; pg_cron
# runs a sync on its own; two databases are processed at once.
# tap-lane: shared (checks what is done, not how soon: it may run beside another file)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 5);
my $node = VsTest::new_node('sync', $emu, preload => 'vectorstore,pg_cron', conf => [
	"cron.database_name = 'postgres'",
	"cron.use_background_workers = on",
	"max_worker_processes = 24",
	"vectorstore.worker_reconcile_delay = '2s'",
	"vectorstore.timeout = '5s'",
	"vectorstore.launcher_naptime = '1s'",
	"vectorstore.worker_naptime = '1s'",
	"vectorstore.worker_poll_interval = '100ms'",
	"vectorstore.worker_batch_size = 500",
]);
$node->start;

sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'postgres', $sql); }
sub files_on_server { return scalar @{ $emu->control('GET', '/v1/files?limit=10000')->{data} // [] }; }
sub store { return $emu->control('GET', "/v1/vector_stores/$_[0]"); }
sub wait_idle
{
	my ($db) = @_;
	$node->poll_query_until($db // 'postgres',
		"SELECT NOT EXISTS (SELECT 1 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled'))
		 AND NOT EXISTS (SELECT 1 FROM vectorstore.sync_change)")
	  or die 'queue did not drain';
}

sq('CREATE EXTENSION vectorstore; CREATE EXTENSION pg_cron;');

# --- pg_cron: schedule a sync first; it runs on its own within a minute
sq("CREATE TABLE notes (id int PRIMARY KEY, body text);
    INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;");
my $vs_cron = sq("SELECT id FROM vectorstore.vs_store_create(name => 'cron')");
sq("SELECT vectorstore.vs_sync_create('notes', 'notes', '$vs_cron', 'id', 'body')");
sq("SELECT cron.schedule('sync-notes', '* * * * *', \$\$SELECT vectorstore.vs_sync_run('notes')\$\$)");

# --- 2,000 rows
sq("CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL, lang text, n int);
    INSERT INTO docs SELECT g, 'document number ' || g || ' about topic ' || (g % 37), 
                            CASE WHEN g % 2 = 0 THEN 'en' ELSE 'fr' END, g
    FROM generate_series(1, 2000) g;");
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'docs')");
sq("SELECT vectorstore.vs_sync_create('docs', 'docs', '$vs', 'id', 'body',
        attribute_columns => ARRAY['lang', 'n'], filename_pattern => 'doc-%s.txt')");
my $t0 = time;
is(sq("SELECT * FROM vectorstore.vs_sync_run('docs')"), '2000|0|0|0', 'first run queues 2000 new rows');
$node->poll_query_until('postgres',
	"SELECT uploading + attached > 0 FROM vectorstore.sync_progress WHERE name = 'docs'");
my $eta = sq("SELECT (eta IS NOT NULL OR attached = rows) FROM vectorstore.sync_progress WHERE name = 'docs'");
wait_idle();
note(sprintf('2000 rows ingested in %.1f s', time - $t0));
is(sq("SELECT rows || '/' || attached || '/' || failed FROM vectorstore.sync_progress WHERE name = 'docs'"),
	'2000/2000/0', 'sync_progress: all 2000 attached');
is(store($vs)->{file_counts}{completed}, 2000, 'store holds 2000 completed files');
is(store($vs)->{file_counts}{total}, 2000, 'and nothing else');
# one by one would be 2,000 batches. How many uploads end together, and so
# share a batch, depends on the machine's load (4 on an idle machine, over 40
# once under a loaded CI run): the bound says batches, not how full they are
# (bench/ measures that)
my $batches = $emu->count('POST /v1/vector_stores/{id}/file_batches');
note("$batches file batches for 2000 files");
ok($batches > 0 && $batches < 200, 'files attached in batches, not one by one');

# search results join back to rows
my $hits = sq("SELECT count(*) || '/' || count(r.row_key)
               FROM vectorstore.vs_search('$vs', 'document number 1234', max_num_results => 10) s
               LEFT JOIN vectorstore.sync_rows r ON r.file_id = s.file_id");
like($hits, qr/^([1-9]\d*)\/\1$/, "every search hit maps to a row ($hits)");
is(sq("SELECT r.row_key FROM vectorstore.vs_search('$vs', 'document number 1234 about topic 13',
         max_num_results => 1, filters => '{\"type\":\"eq\",\"key\":\"n\",\"value\":1234}') s
       JOIN vectorstore.sync_rows r ON r.file_id = s.file_id"), '1234', 'attribute filter finds the row');

# --- 100 changed, 50 deleted
sq("UPDATE docs SET body = body || ' (revised)' WHERE id <= 100;
    DELETE FROM docs WHERE id > 1950;");
is(sq("SELECT * FROM vectorstore.vs_sync_run('docs')"), '0|100|50|1850', 'second run: 100 changed, 50 deleted');
wait_idle();
is(store($vs)->{file_counts}{completed}, 1950, 'store holds the 1950 current rows');
is(store($vs)->{file_counts}{total}, 1950, 'no stale files attached');
my $row7 = sq("SELECT file_id FROM vectorstore.sync_rows WHERE sync_name = 'docs' AND row_key = '7'");
my (undef, $content) = $emu->request('GET', "/v1/files/$row7/content");
like($content, qr/\(revised\)/, 'a changed row points at its new content');
is(sq("SELECT count(DISTINCT file_id) FROM vectorstore.sync_rows WHERE sync_name = 'docs'"), '1950',
	'sync_rows maps each row to its own file');
is(sq("SELECT * FROM vectorstore.vs_sync_run('docs')"), '0|0|0|1950', 'third run: nothing to do');

# --- a change of an attribute alone is a change, and search sees it
sq("UPDATE docs SET lang = 'de' WHERE id = 5");
is(sq("SELECT * FROM vectorstore.vs_sync_run('docs')"), '0|1|0|1949',
	'a sync run after an attribute-only change reports the row changed');
wait_idle();
is(sq("SELECT r.row_key FROM vectorstore.vs_search('$vs', 'document number 5 about topic 5',
         max_num_results => 5, filters => '{\"type\":\"eq\",\"key\":\"lang\",\"value\":\"de\"}') s
       JOIN vectorstore.sync_rows r ON r.file_id = s.file_id"), '5',
	'a filter on the attribute finds the new value');
is(sq("SELECT * FROM vectorstore.vs_sync_run('docs')"), '0|0|0|1950', 'and the next run finds nothing to do');
# timestamps are sent as numbers, so a range filter compares them
sq("CREATE TABLE events (id int PRIMARY KEY, body text, at timestamptz);
    INSERT INTO events VALUES (1, 'early event', '2024-01-01 00:00:00+00'), (2, 'late event', '2024-06-01 12:00:00+00');");
my $vse = sq("SELECT id FROM vectorstore.vs_store_create(name => 'events')");
sq("SELECT vectorstore.vs_sync_create('events', 'events', '$vse', 'id', 'body', attribute_columns => ARRAY['at'])");
sq("SELECT vectorstore.vs_sync_run('events')");
wait_idle();
is(sq("SELECT string_agg(r.row_key, ',') FROM vectorstore.vs_search('$vse', 'event', max_num_results => 5,
         filters => '{\"type\":\"gte\",\"key\":\"at\",\"value\":1710000000}') s
       JOIN vectorstore.sync_rows r ON r.file_id = s.file_id"), '2',
	'a timestamptz attribute is an epoch number: a range filter finds the later row');

# --- pg_cron ran the other sync on its own
ok($node->poll_query_until('postgres',
	"SELECT attached = 10 FROM vectorstore.sync_progress WHERE name = 'notes'"), 'pg_cron ran vs_sync_run');
is(store($vs_cron)->{file_counts}{completed}, 10, 'the scheduled sync filled its store');
sq("SELECT cron.unschedule('sync-notes')");
is(files_on_server(), 1950 + 10 + 2, 'no orphan files on the server (files = current rows)');

# --- trigger mode: the trigger records each committed change; the worker
# computes the difference as the sync's owner and queues it
sq("CREATE TABLE live (k text PRIMARY KEY, body text)");
my $vs_live = sq("SELECT id FROM vectorstore.vs_store_create(name => 'live')");
sq("SELECT vectorstore.vs_sync_create('live', 'live', '$vs_live', 'k', 'upper(t.body)', trigger => true)");
sq("INSERT INTO live VALUES ('a', 'first'), ('b', 'second'), ('c', 'third')");
sq("BEGIN; INSERT INTO live VALUES ('d', 'rolled back'); ROLLBACK;");
wait_idle();
is(store($vs_live)->{file_counts}{completed}, 3, 'trigger mode: committed rows uploaded, rolled back not');
sq("UPDATE live SET body = 'changed' WHERE k = 'a'; DELETE FROM live WHERE k = 'b';");
wait_idle();
is(store($vs_live)->{file_counts}{completed}, 2, 'trigger mode: update replaced, delete removed');
my $fa = sq("SELECT file_id FROM vectorstore.sync_rows WHERE sync_name = 'live' AND row_key = 'a'");
(undef, $content) = $emu->request('GET', "/v1/files/$fa/content");
is($content, 'CHANGED', 'content expression evaluated over the row');
ok(sq("SELECT vectorstore.vs_sync_drop('live', delete_files => true)") eq 't', 'vs_sync_drop');
wait_idle();
is(store($vs_live)->{file_counts}{total}, 0, 'vs_sync_drop(delete_files) emptied the store');

# --- two databases processed at once
my $before = files_on_server();
my %vsdb;
for my $db ('one', 'two')
{
	sq("CREATE DATABASE $db");
	sq("CREATE EXTENSION vectorstore;
	    CREATE TABLE t (id int PRIMARY KEY, body text);
	    INSERT INTO t SELECT g, '$db row ' || g FROM generate_series(1, 300) g;", $db);
	$vsdb{$db} = sq("SELECT id FROM vectorstore.vs_store_create(name => '$db')", $db);
	sq("SELECT vectorstore.vs_sync_create('t', 't', '$vsdb{$db}', 'id', 'body')", $db);
}
# queued while both are paused, then let go together, with every request
# held 30 ms: each database's 300 uploads take a while, so two workers that
# run at once overlap whatever the machine's load (one worker serving both
# databases in turn would not)
sq("SELECT vectorstore.vs_worker_pause()", $_) for ('one', 'two');
sq("SELECT vectorstore.vs_sync_run('t')", $_) for ('one', 'two');
$emu->config({ latency => { default => 30 } });
sq("SELECT vectorstore.vs_worker_resume()", $_) for ('one', 'two');
wait_idle($_) for ('one', 'two');
$emu->config({ latency => {} });
my %span = map { $_ => sq("SELECT extract(epoch FROM min(started_at)) || ' ' || extract(epoch FROM max(finished_at))
                            FROM vectorstore.job", $_) } ('one', 'two');
my ($s1, $f1) = split / /, $span{one};
my ($s2, $f2) = split / /, $span{two};
ok($s1 < $f2 && $s2 < $f1, 'the two databases were processed at once (their jobs\' spans overlap)');
is(sq("SELECT count(*) FROM vectorstore.worker_state WHERE started_at IS NOT NULL", $_), '1',
	"database $_ had its own worker") for ('one', 'two');
is(store($vsdb{one})->{file_counts}{completed}, 300, 'database one synced');
is(store($vsdb{two})->{file_counts}{completed}, 300, 'database two synced');
is(files_on_server(), $before + 600, 'no duplicates across databases');

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no crash in the log');
$emu->stop;
done_testing();
