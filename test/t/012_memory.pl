# Backend memory stays flat over a long session: 10,000 iterations of
# vs_store_get + vs_search + vs_store_file_get (30,000 API calls) in one
# session, each iteration its own transaction. Backend RSS (VmRSS) and the
# memory contexts' total (pg_backend_memory_contexts) after 1,000
# iterations and after 10,000 must differ by no more than a small slack:
# a leak of even 100 bytes per call would add ~2.7 MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start(processing_delay_ms => 0);
my $node = VsTest::new_node('memory', $emu);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vectorstore');
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'mem')");
my $f = $node->safe_psql('postgres', qq{
	SELECT (vectorstore.vs_upload('$vs', 'm.txt', 'the refund policy covers damaged items', '{"k": "v"}', wait => true)).id});

# one iteration per transaction, from a procedure with COMMIT in the loop
$node->safe_psql('postgres', qq{
	CREATE PROCEDURE calls(n int) LANGUAGE plpgsql AS \$\$
	BEGIN
		FOR i IN 1..n LOOP
			PERFORM vectorstore.vs_store_get('$vs');
			PERFORM count(*) FROM vectorstore.vs_search('$vs', 'refund policy');
			PERFORM vectorstore.vs_store_file_get('$vs', '$f');
			COMMIT;
		END LOOP;
	END \$\$;
	CREATE FUNCTION mem(OUT rss_kb bigint, OUT contexts bigint) LANGUAGE sql AS \$\$
		SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\\s+(\\d+)'))[1]::bigint,
		       (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)::bigint
	\$\$;
});

my $t0 = time;
my $out = $node->safe_psql('postgres', q{
	CALL calls(1000);
	SELECT rss_kb, contexts FROM mem();
	CALL calls(9000);
	SELECT rss_kb, contexts FROM mem();
});
my $secs = time - $t0;
my ($a, $b) = split /\n/, $out;
my ($rss1, $ctx1) = split /\|/, $a;
my ($rss2, $ctx2) = split /\|/, $b;
note("after 1,000: VmRSS $rss1 kB, contexts $ctx1 B; after 10,000: VmRSS $rss2 kB, contexts $ctx2 B; ${secs}s");
cmp_ok($rss2 - $rss1, '<=', 1024, "VmRSS grew by " . ($rss2 - $rss1) . " kB over 9,000 more iterations (<= 1 MB)");
cmp_ok($ctx2 - $ctx1, '<=', 64 * 1024, "memory contexts grew by " . ($ctx2 - $ctx1) . " bytes (<= 64 kB)");
is($emu->count('POST /v1/vector_stores/{id}/search', 200), 10_000, 'every search reached the server');

unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend crashed');
$node->stop;
$emu->stop;
done_testing();
