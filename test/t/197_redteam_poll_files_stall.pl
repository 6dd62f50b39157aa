# Red team round six: a poll whose batch did not complete reads the batch's
# file list in the worker's own process, with a blocking request
# (vs_paginate -> vs_http_execute_each, from po_digest), not as a flight.
# A server behind one credential that answers a poll "failed" and never
# answers GET .../file_batches/ID/files stops the whole worker for the
# request timeout (with the SDK's retries, and up to three pages): no other
# credential's job is claimed, sent or recorded, and the heartbeat stops.
# The design: "a slow server holds only its own units".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use VsTest;
use VsWorkerTest;

my $h = VsWorkerTest::Hostile->start('stallfiles.pl');
my $hport = $h->port;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10);
my $node = VsTest::new_node('pollstall', $emu,
	conf => [ VsWorkerTest::conf(timeout => '60s'),
		"vectorstore.worker_request_timeout = '60s'" ]);
$node->start;

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sq(qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE mallory LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO mallory, bob;
	SELECT vectorstore.vs_credential_set('h1', auth => 'none', base_url => 'http://127.0.0.1:$hport/v1');
	SELECT vectorstore.vs_credential_grant('h1', 'mallory');
});

as('mallory', "SET vectorstore.credential = 'h1'; SELECT vectorstore.vs_enqueue_upload('vs_m', 'm.txt', 'mallory')");
# until the worker has asked for the batch's file list
my $t0 = time;
while (time - $t0 < 20)
{
	last if $h->requests =~ m{/file_batches/[^/\s]+/files};
	usleep(100_000);
}
like($h->requests, qr{/file_batches/[^/\s]+/files}, 'the worker asked for the file list');
usleep(300_000);

my $bvs = as('bob', "SELECT id FROM vectorstore.vs_store_create(name => 'bob')");
my $bob = as('bob', "SELECT vectorstore.vs_enqueue_upload('$bvs', 'b.txt', 'bob content')");
my $tb = time;
my $st = '';
while (time - $tb < 20)
{
	$st = sq("SELECT status FROM vectorstore.job WHERE id = $bob");
	last if $st eq 'completed';
	usleep(200_000);
}
diag(sprintf("bob's job is %s after %.1f s", $st, time - $tb));
is($st, 'completed', "bob's job (another credential) completes while mallory's server holds the file list");

$node->stop('immediate');
$h->stop;
$emu->stop;
done_testing();
