# A randomized model test of the queue (issue 10): three roles, two
# credentials on one account (one emulator, two projects) and one
# elsewhere (a second emulator); per seed, random enqueues (now and then of
# a job with a bad store id), cancels, retries, a revoke, a role drop, a
# worker kill (SIGTERM, or SIGKILL: a crash of the server) and injected
# faults (429, 5xx, resets, stalls longer than the timeout, malformed
# JSON). The oracle, checked per seed once the queue has settled:
#   - every job that completed did so exactly once: its file exists, holds
#     its own content, is attached to its own store, and is the only file on
#     its server carrying its marker (no duplicate left);
#   - no file a live job owns was deleted;
#   - a bad job stops no one: every job of a role that kept its authority,
#     with a good store, that was not cancelled, completed.
# 30 seeds by default (VS_SEEDS=N for more); the seed is printed with every
# failure, and VS_SEED=S runs that one alone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $nseeds = $ENV{VS_SEEDS} || 30;
my @seeds = $ENV{VS_SEED} ? ($ENV{VS_SEED}) : (1 .. $nseeds);
my $T0 = time;

my $emuA = VsTest::Emulator->start(processing_delay_ms => 5, args => ['--request-log', '0']);
my $emuB = VsTest::Emulator->start(processing_delay_ms => 5, args => ['--request-log', '0']);
my $node = VsTest::new_node('model', $emuA, conf => [
	VsWorkerTest::conf(reconcile => '2s', timeout => '1s', max_attempts => 1000),
	"vectorstore.connect_timeout = '1s'",
	"vectorstore.worker_concurrency = 8",
	"vectorstore.worker_batch_size = 10",
	"restart_after_crash = on" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return $ret == 0 ? $out : undef;
}
sub store { my ($emu, $name) = @_; return $emu->control('POST', '/v1/vector_stores', { name => $name })->{id}; }

sq("CREATE EXTENSION vectorstore;
    SELECT vectorstore.vs_credential_set('cA1', 'sk-a', '" . $emuA->url . "/v1', project => 'p1');
    SELECT vectorstore.vs_credential_set('cA2', 'sk-a', '" . $emuA->url . "/v1', project => 'p2');
    SELECT vectorstore.vs_credential_set('cB', 'sk-b', '" . $emuB->url . "/v1');");
my %cred = (r1 => 'cA1', r2 => 'cA2', r3 => 'cB');
my %emu_of = (cA1 => $emuA, cA2 => $emuA, cB => $emuB);
for my $r (sort keys %cred)
{
	sq("CREATE ROLE $r LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $r;
	    SELECT vectorstore.vs_credential_grant('$cred{$r}', '$r');");
}
my $token;

my @fault_kinds = (
	{ kind => '429', retry_after => '0' },
	{ kind => '500' },
	{ kind => '503' },
	{ kind => 'reset' },
	{ kind => 'stall', stall_ms => 1500 },
	{ kind => 'malformed_json' },
);

sub settle
{
	my ($what) = @_;
	$node->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT 1 FROM vectorstore.job WHERE status NOT IN ('completed', 'failed', 'cancelled'))
		   AND NOT EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.status IN ('failed', 'cancelled')
		                     AND j.file_id IS NOT NULL AND j.kind <> 'delete')
		   AND NOT EXISTS (SELECT 1 FROM vectorstore.sweep s WHERE s.due_at IS NOT NULL OR s.cursor IS NOT NULL)")
	  or die "the queue did not settle: $what";
}

# all files with a worker marker on a server: "jid-secret" => [file ids]
sub marked
{
	my ($emu) = @_;
	my %m;
	for my $f (@{ $emu->control('GET', '/v1/files?limit=10000')->{data} // [] })
	{
		push @{ $m{"$1-$2"} }, $f->{id} if $f->{filename} =~ /^vsjob-\Q$token\E-(\d+)-([0-9a-f]{32})_/;
	}
	return \%m;
}

my $failures = 0;
for my $seed (@seeds)
{
	srand($seed);
	my $t0 = time;
	my %vs = (cA1 => store($emuA, "s$seed-a1"), cA2 => store($emuA, "s$seed-a2"), cB => store($emuB, "s$seed-b"));
	my $tmp = "tmp$seed";
	sq("CREATE ROLE $tmp LOGIN; GRANT USAGE ON SCHEMA vectorstore TO $tmp;
	    SELECT vectorstore.vs_credential_grant('cA1', '$tmp');");
	$cred{$tmp} = 'cA1';
	my $first = sq("SELECT coalesce(max(id), 0) FROM vectorstore.job") + 0;
	my (%revoked, %dropped, %cancelled, %bad);
	my @roles = ('r1', 'r2', 'r3', $tmp);
	my @log;

	for my $step (1 .. 14)
	{
		my $op = rand();
		if ($op < 0.5)
		{
			my $r = $roles[ int(rand(@roles)) ];
			next if $dropped{$r};
			my $c = $cred{$r};
			my $n = 1 + int(rand(4));
			my $target = rand() < 0.1 ? 'vs_bad/x' : $vs{$c};
			my $ids = as($r, "SELECT vectorstore.vs_enqueue_upload('$target', 's$seed-' || g || '.txt',
			                 's$seed $r ' || g || ' ' || repeat('x', (random() * 200)::int))
			                 FROM generate_series(1, $n) g");
			next unless defined $ids;
			$bad{$_} = 1 for $target eq 'vs_bad/x' ? split(/\n/, $ids) : ();
			push @log, "enqueue $r $n" . ($target eq 'vs_bad/x' ? ' bad' : '');
		}
		elsif ($op < 0.6)
		{
			my $r = $roles[ int(rand(@roles)) ];
			my $id = sq("SELECT id FROM vectorstore.job WHERE id > $first AND owner = '$r'
			             AND status NOT IN ('completed', 'failed', 'cancelled') ORDER BY random() LIMIT 1");
			next unless $id && !$dropped{$r};
			my $ok = as($r, "SELECT vectorstore.vs_job_cancel($id)");
			$cancelled{$id} = 1 if ($ok // '') eq 't';
			push @log, "cancel $id";
		}
		elsif ($op < 0.68)
		{
			my $id = sq("SELECT id FROM vectorstore.job WHERE id > $first AND status IN ('failed', 'cancelled')
			             AND owner IN ('r1', 'r2', 'r3') ORDER BY random() LIMIT 1");
			next unless $id;
			my $r = sq("SELECT owner FROM vectorstore.job WHERE id = $id");
			my $ok = as($r, "SELECT vectorstore.vs_job_retry($id)");
			delete $cancelled{$id} if ($ok // '') eq 't';
			push @log, "retry $id";
		}
		elsif ($op < 0.74)
		{
			next if %revoked;
			my $r = ('r1', 'r2', 'r3')[ int(rand(3)) ];
			sq("SELECT vectorstore.vs_credential_revoke('$cred{$r}', '$r')");
			$revoked{$r} = 1;
			push @log, "revoke $r";
		}
		elsif ($op < 0.78)
		{
			next if $dropped{$tmp};
			sq("DROP OWNED BY $tmp; DROP ROLE $tmp");
			$dropped{$tmp} = 1;
			push @log, "drop $tmp";
		}
		elsif ($op < 0.84)
		{
			my $pid = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'");
			next unless $pid;
			if (rand() < 0.25)
			{
				kill 'KILL', $pid;
				$node->poll_query_until('postgres', 'SELECT true') or die;
				push @log, "SIGKILL worker";
			}
			else
			{
				sq("SELECT pg_terminate_backend($pid)");
				push @log, "SIGTERM worker";
			}
		}
		else
		{
			my $f = { %{ $fault_kinds[ int(rand(@fault_kinds)) ] }, rate => 0.15 };
			(rand() < 0.5 ? $emuA : $emuB)->fault($f);
			push @log, "fault $f->{kind}";
		}
		usleep(50_000 + int(rand(150_000)));
	}

	# let it settle: no faults, authority back for the roles that remain
	$emuA->clear_faults;
	$emuB->clear_faults;
	for my $r (keys %revoked) { sq("SELECT vectorstore.vs_credential_grant('$cred{$r}', '$r')"); }
	settle("seed $seed: @log");
	$token //= sq("SELECT token FROM vectorstore.worker_state");
	my %mark = (%{ marked($emuA) }, %{ marked($emuB) });
	my @problems;
	for my $row (split /\n/, sq("SELECT id, owner, credential, vector_store_id, status, coalesce(file_id, ''),
	                                    secret, encode(content, 'escape'), coalesce(last_error, '')
	                             FROM vectorstore.job WHERE id > $first ORDER BY id"))
	{
		my ($id, $owner, $c, $vsid, $status, $fid, $secret, $content, $err) = split /\|/, $row, 9;
		my $files = $mark{"$id-$secret"} // [];
		if ($status eq 'completed')
		{
			push @problems, "job $id completed with " . scalar(@$files) . " files carrying its marker"
			  unless @$files == 1 && $files->[0] eq $fid;
			my $emu = $emu_of{$c} // $emuA;	# no credential: the settings (account A)
			my $f = $emu->control('GET', "/v1/vector_stores/$vsid/files/$fid");
			push @problems, "job $id: its file $fid is not completed in its store $vsid"
			  unless ref $f eq 'HASH' && ($f->{status} // '') eq 'completed';
			my (undef, $got) = $emu->request('GET', "/v1/files/$fid/content");
			push @problems, "job $id: its file does not hold its content" unless ($got // '') eq $content;
		}
		my $mustcomplete = !$bad{$id} && !$cancelled{$id} && !$dropped{$owner} && !$revoked{$owner};
		push @problems, "job $id ($owner) is $status ($err)" if $mustcomplete && $status ne 'completed';
		push @problems, "job $id (bad store) is $status" if $bad{$id} && !$cancelled{$id} && $status ne 'failed';
	}
	if (@problems)
	{
		$failures++;
		fail("seed $seed: " . join('; ', @problems[0 .. ($#problems > 5 ? 5 : $#problems)]));
		diag("seed $seed operations: @log");
	}
	else
	{
		pass(sprintf("seed %d: %s (%.1f s)", $seed, join(', ', @log), time - $t0));
	}
	delete $cred{$tmp};
	sq("DROP OWNED BY $tmp; DROP ROLE $tmp") unless $dropped{$tmp};
}
note(sprintf('%d seeds in %.0f s', scalar(@seeds), time - $T0));

$node->stop;
my $crashes = () = slurp_file($node->logfile) =~ /was terminated by signal 11|PANIC/g;
is($crashes, 0, 'no segfault or PANIC in the log (SIGKILLs are the test\'s own)');
$emuA->stop;
$emuB->stop;
done_testing();
