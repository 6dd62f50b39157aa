# Progress of a long call: the caller gets NOTICEs as it goes, and another
# session sees it in vectorstore.progress — its own role's sessions only,
# unless it may read all statistics.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 10, args => [ '--latency', 'upload=150' ]);
my $node = VsTest::new_node('progress', $emu);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice, bob;
});
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'p')");

# 40 uploads, two at a time, 150 ms each: about 3 s
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres') . ' user=alice',
	  '-c', "SET vectorstore.progress_notice_interval = '500ms'",
	  '-c', "SELECT count(*) FROM vectorstore.vs_upload_many('$vs', (SELECT array_agg('f' || i) FROM generate_series(1, 40) i), (SELECT array_agg('text ' || i) FROM generate_series(1, 40) i), max_concurrency => 2, wait => false)" ],
	'>', \$out, '2>', \$err);

my $seen = '';
for (1 .. 200)
{
	$seen = $node->safe_psql('postgres',
		"SELECT usename || ' ' || phase || ' ' || total || ' ' || (done > 0 AND done < total) FROM vectorstore.progress");
	last if $seen =~ /alice \S+ 40 true/;
	usleep(25_000);
}
like($seen, qr/^alice requests 40 true$/, 'another session sees the call in progress: 40 requests, some done');
my $bob = $node->safe_psql('postgres', 'SET ROLE bob; SELECT count(*) FROM vectorstore.progress');
is($bob, '0', "a role does not see another role's sessions");
my $alice = $node->safe_psql('postgres', 'SET ROLE alice; SELECT count(*) FROM vectorstore.progress WHERE total = 40');
is($alice, '1', "a role sees its own sessions");

$h->finish;
$out =~ s/\s+$//;
is($out, '40', 'the call finished');
like($err, qr/NOTICE:  vectorstore: requests: \d+ of 40 requests done/, 'the caller got progress NOTICEs on the way');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vectorstore.progress'), '0',
	'nothing in progress once the call is over');

$node->stop;
$emu->stop;
done_testing();
