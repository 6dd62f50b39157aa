# Issue 10's reproductions on the server side, each as it was reported
# against 0.1.0 (where each of these fails) and the mechanism that now
# stops it:
#   3  two credentials on one account deleted each other's adopted files
#   6  a server listing for ever froze the worker (heartbeat, memory)
#   7  12 credentials at concurrency 16 crashed the worker (header cache)
#  12  ids holding "/" stalled a step for everyone; poll-after 0 spun
#  14  jobs on the settings credential followed the settings unchecked
# A hostile server is the proxy in front of the emulator (test/hostile/proxy.pl).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VsTest;
use VsWorkerTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $emu2 = VsTest::Emulator->start(processing_delay_ms => 10);	# another account
my $proxy = VsWorkerTest::Proxy->start($emu);
my $node = VsTest::new_node('servers', $emu, conf => [ VsWorkerTest::conf(max_attempts => 3),
	"vectorstore.connect_timeout = '1s'" ]);
$node->start;

sub sq { my ($sql, $db) = @_; return $node->safe_psql($db // 'postgres', $sql); }
sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return wantarray ? ($ret, $out, $err) : $out;
}
sub wait_idle { VsWorkerTest::wait_idle($node, 'postgres', @_); }
sub files_on { my ($e) = @_; return $e->control('GET', '/v1/files?limit=10000')->{data} // []; }
sub cred
{
	my ($name, $url, $project, @roles) = @_;
	sq("SELECT vectorstore.vs_credential_set('$name', 'sk-$name', '$url', project => '$project')");
	sq("SELECT vectorstore.vs_credential_grant('$name', '$_')") for @roles;
}

sq("CREATE EXTENSION vectorstore;");
for my $r (qw(alice bob carol dave erin frank))
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;");
}
my $vs = sq("SELECT id FROM vectorstore.vs_store_create(name => 'servers')");

# ---------------------------------------------------------------------
# 3. Credentials on one account never delete each other's files
# ---------------------------------------------------------------------
# two credentials (projects) on one account, every upload's answer lost: each
# sweep lists the other's files too, and adopts only its own
cred('c1', $proxy->url('lost'), 'p1', 'alice');
cred('c2', $proxy->url('lost'), 'p2', 'bob');
my $up0 = $emu->count('POST /v1/files', 200);
my $w0 = sq("SELECT uploads_adopted || ' ' || duplicates_deleted FROM vectorstore.worker_state");
as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'a3-' || g || '.txt', 'alice three ' || g) FROM generate_series(1, 30) g");
as('bob', "SELECT vectorstore.vs_enqueue_upload('$vs', 'b3-' || g || '.txt', 'bob three ' || g) FROM generate_series(1, 30) g");
wait_idle('item 3');
is(sq("SELECT count(*) FROM vectorstore.job WHERE filename ~ '^[ab]3-' AND status = 'completed'"), '60',
	'3: all 60 jobs of the two credentials completed');
is(sq("SELECT count(DISTINCT file_id) FROM vectorstore.job WHERE filename ~ '^[ab]3-'"), '60', '3: each with its own file');
is($emu->count('POST /v1/files', 200) - $up0, 60, '3: after lost answers, successful uploads = jobs (every job adopted its file)');
my ($ad, $dd) = split / /, sq("SELECT uploads_adopted || ' ' || duplicates_deleted FROM vectorstore.worker_state");
my ($ad0, $dd0) = split / /, $w0;
is($ad - $ad0, 60, '3: 60 uploads adopted');
is($dd - $dd0, 0, '3: no file deleted (neither took the other\'s adopted file for a duplicate)');
my %onserver = map { $_->{id} => 1 } @{ files_on($emu) };
is(sq("SELECT count(*) FROM vectorstore.job WHERE filename ~ '^[ab]3-' AND file_id = ANY ('{" . join(',', keys %onserver) . "}')"),
	'60', '3: every job\'s file is on the server');

# ---------------------------------------------------------------------
# 7. Header lists live as long as their transfers: 12 credentials differing
#    only by project, 16 requests in flight
# ---------------------------------------------------------------------
sq("ALTER SYSTEM SET vectorstore.worker_concurrency = 16; SELECT pg_reload_conf();");
for my $k (1 .. 12)
{
	my $n = sprintf('k%02d', $k);
	sq("SELECT vectorstore.vs_credential_set('$n', 'sk-shared-key', '" . $emu->url . "/v1', project => 'proj-$n')");
}
$emu->clear_requests;
for my $k (1 .. 12)
{
	my $n = sprintf('k%02d', $k);
	sq("SET vectorstore.credential = '$n';
	    SELECT vectorstore.vs_enqueue_upload('$vs', '$n-' || g || '.txt', '$n file ' || g) FROM generate_series(1, 15) g");
}
wait_idle('item 7');
is(sq("SELECT count(*) FROM vectorstore.job WHERE credential ~ '^k[0-9]+\$' AND status = 'completed'"), '180',
	'7: 180 jobs over 12 credentials completed at concurrency 16');
my @reqs = grep { $_->{path} =~ m{^/v1/} && ($_->{headers}{'openai-project'} // '') !~ /^p[12]$/ } @{ $emu->requests };
ok(@reqs >= 180, 'requests were logged (' . scalar(@reqs) . ')');
is(scalar(grep { ($_->{headers}{authorization} // '') ne 'Bearer sk-shared-key' } @reqs), 0,
	'7: every request carried its credential\'s Authorization');
is(scalar(grep { ($_->{headers}{'openai-project'} // '') !~ /^proj-k\d\d$/ } @reqs), 0,
	'7: ... and its own project');
unlike(slurp_file($node->logfile), qr/terminated by signal/, '7: no worker crashed');
sq("ALTER SYSTEM SET vectorstore.worker_concurrency = 8; SELECT pg_reload_conf();");

# ---------------------------------------------------------------------
# 12. A server's bad ids fail their own jobs; poll-after 0 does not spin
# ---------------------------------------------------------------------
cred('ca', $emu->url . '/v1', 'pa', 'alice');
sq("SELECT vectorstore.vs_credential_revoke('c1', 'alice')");
cred('cs', $proxy->url('slashbatch'), 'ps', 'carol');
cred('cf', $proxy->url('slashfile'), 'pf', 'dave');
cred('cp', $proxy->url('poll0'), 'pp', 'erin');
my $jcs = as('carol', "SELECT vectorstore.vs_enqueue_upload('$vs', 'slashbatch.txt', 'slash batch id')");
my $jcf = as('dave', "SELECT vectorstore.vs_enqueue_upload('$vs', 'slashfile.txt', 'slash file id')");
my $jcp = as('erin', "SELECT vectorstore.vs_enqueue_upload('$vs', 'poll0.txt', 'poll at once')");
my @ok12 = split /\n/, as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'ok12-' || g || '.txt', 'fine ' || g) FROM generate_series(1, 10) g");
ok($node->poll_query_until('postgres', "SELECT count(*) = 10 FROM vectorstore.job WHERE id IN (" . join(',', @ok12) . ") AND status = 'completed'"),
	'12: another role\'s jobs complete meanwhile');
$node->poll_query_until('postgres', "SELECT status = 'attaching' AND batch_id IS NOT NULL FROM vectorstore.job WHERE id = $jcp") or die;
my $p0 = $proxy->count('poll0', 'GET', qr{/file_batches/[^/]+$});
sleep 3;
my $polls = $proxy->count('poll0', 'GET', qr{/file_batches/[^/]+$}) - $p0;
note("$polls polls of a batch answering openai-poll-after-ms: 0 in 3 s");
ok($polls >= 2, '12: the never-ending batch is polled');
ok($polls <= 3000 / 100 + 5, "12: at most one poll per 100 ms ($polls in 3 s), whatever the server asks");
is(as('erin', "SELECT vectorstore.vs_job_cancel($jcp)"), 't', 'erin cancels her job');
$node->poll_query_until('postgres', "SELECT status = 'failed' FROM vectorstore.job WHERE id = $jcs") or die;
like(sq("SELECT attempts || ' ' || last_error FROM vectorstore.job WHERE id = $jcs"), qr/^3 .*unusable id/,
	'12: a file batch id holding "/" failed its own job after its attempts, with the reason');
$node->poll_query_until('postgres', "SELECT status = 'failed' FROM vectorstore.job WHERE id = $jcf") or die;
like(sq("SELECT last_error FROM vectorstore.job WHERE id = $jcf"), qr/unusable id|could not|answer/,
	'12: a file id holding "/" (answered and listed) failed its own job');
like(slurp_file($node->logfile), qr/sweep skipped \d+ marked file\(s\) with an unusable id/,
	'12: the sweep skipped the listed files whose id holds "/"');
unlike(slurp_file($node->logfile), qr/ERROR:.*invalid object id/, '12: no step raised for a bad id');
wait_idle('item 12');

# ---------------------------------------------------------------------
# 6. A server that lists for ever holds up no one, nor the heartbeat
# ---------------------------------------------------------------------
cred('ce', $proxy->url('endless'), 'pe', 'frank');
sq("SELECT vectorstore.vs_worker_pause()");
my $jf = as('frank', "SELECT vectorstore.vs_enqueue_upload('$vs', 'endless.txt', 'listed for ever')");
$emu->fault({ kind => '503', count => 1, route => '/files', method => 'POST' });
sq("SELECT vectorstore.vs_worker_resume()");
$node->poll_query_until('postgres', "SELECT status = 'uploading' AND last_error IS NOT NULL FROM vectorstore.job WHERE id = $jf") or die;
$node->poll_query_until('postgres', "SELECT true FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'") or die;
for (1 .. 100) { last if $proxy->count('endless', 'GET', qr{^/v1/files$}) > 5; usleep(100_000); }
my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'");
my $rss1 = `ps -o rss= -p $pid`;
my $hb1 = sq("SELECT heartbeat_at FROM vectorstore.worker_state");
my $pages1 = $proxy->count('endless', 'GET', qr{^/v1/files$});
my @ok6 = split /\n/, as('alice', "SELECT vectorstore.vs_enqueue_upload('$vs', 'ok6-' || g || '.txt', 'fine ' || g) FROM generate_series(1, 20) g");
ok($node->poll_query_until('postgres', "SELECT count(*) = 20 FROM vectorstore.job WHERE id IN (" . join(',', @ok6) . ") AND status = 'completed'"),
	'6: another role\'s jobs complete while the listing goes on');
sleep 2;
my $pages2 = $proxy->count('endless', 'GET', qr{^/v1/files$});
ok($pages2 > $pages1, "6: the endless listing went on ($pages1 -> $pages2 pages)");
ok(sq("SELECT heartbeat_at > '$hb1' FROM vectorstore.worker_state") eq 't', '6: the heartbeat kept ticking');
my $rss2 = `ps -o rss= -p $pid`;
chomp($rss1, $rss2);
note("worker RSS $rss1 kB -> $rss2 kB over $pages1 -> $pages2 pages");
ok($rss2 ne '' && $rss2 - $rss1 < 20000, '6: the worker\'s memory stays flat');
is(sq("SELECT status FROM vectorstore.job WHERE id = $jf"), 'uploading', '6: the lost upload waits for its listing');
ok(sq("SELECT cursor IS NOT NULL OR last_error ~ 'did not end' FROM vectorstore.sweep WHERE credential = 'ce'") eq 't',
	'6: the listing resumes from its cursor pass after pass (or gave up on a list that does not end)');
sq("SELECT vectorstore.vs_credential_set('ce', 'sk-ce', '" . $emu->url . "/v1', project => 'pe')");
ok($node->poll_query_until('postgres', "SELECT status <> 'uploading' FROM vectorstore.job WHERE id = $jf"),
	'6: pointed at a sane server, the job is decided');

# ---------------------------------------------------------------------
# 14. The settings credential: a job goes where the settings point when it
#     is sent; a lost upload is reconciled only where it went
# ---------------------------------------------------------------------
sq("ALTER SYSTEM SET vectorstore.worker_reconcile_delay = '6s';
    ALTER SYSTEM SET vectorstore.base_url = '" . $proxy->url('lost') . "'; SELECT pg_reload_conf();");
sleep 1;
my $j14 = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'moved.txt', 'sent before the move')");
$node->poll_query_until('postgres', "SELECT status = 'uploading' AND last_error IS NOT NULL FROM vectorstore.job WHERE id = $j14") or die;
is(sq("SELECT target FROM vectorstore.job WHERE id = $j14"), $proxy->url('lost'), '14: the lost upload records where it went');
sq("SELECT vectorstore.vs_worker_pause()");
my $j15 = sq("SELECT vectorstore.vs_enqueue_upload('$vs', 'queued.txt', 'queued before the move')");
sq("ALTER SYSTEM SET vectorstore.base_url = '" . $emu2->url . "/v1'; SELECT pg_reload_conf();");
sleep 1;
my $vs2 = sq("SELECT id FROM vectorstore.vs_store_create(name => 'other account')");
sq("UPDATE vectorstore.job SET vector_store_id = '$vs2' WHERE id = $j15");
sq("SELECT vectorstore.vs_worker_resume()");
wait_idle('item 14');
like(sq("SELECT status || ': ' || last_error FROM vectorstore.job WHERE id = $j14"),
	qr/^failed: the answer to its upload to .*lost.* was lost, and its credential now points at .*vs_job_retry/,
	'14: the lost upload is not reconciled against the new server: it fails, saying why');
is(scalar(grep { $_->{filename} =~ /_moved\.txt$/ } @{ files_on($emu2) }), 0, '14: nothing of it went to the new server');
is(sq("SELECT status FROM vectorstore.job WHERE id = $j15"), 'completed', '14: a job queued before the move was sent after it...');
is(scalar(grep { $_->{filename} =~ /_queued\.txt$/ } @{ files_on($emu2) }), 1, '14: ... to where the settings point now');

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no crash in the log');
$proxy->stop;
$emu->stop;
$emu2->stop;
done_testing();
