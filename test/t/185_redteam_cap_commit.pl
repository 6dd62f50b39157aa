# Red team, round three: the per-statement request cap
# (vectorstore.max_requests_per_statement) starts again at every COMMIT
# inside a DO block or a procedure, so one top-level statement that commits
# in a loop calls the API without bound. The threat model says the count is
# per top-level statement and that a DO block's statements share it.
# Fails today: with the cap at 2, a DO block that commits after each call
# sends 5 requests and succeeds (likewise CALL of a procedure).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('capcommit', $emu);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vectorstore;
	CREATE PROCEDURE five() LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1..5 LOOP PERFORM vectorstore.vs_stores(max_items => 1); COMMIT; END LOOP;
	END $$;
});

$emu->clear_requests;
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET vectorstore.max_requests_per_statement = 2;
	DO $$ BEGIN
		FOR i IN 1..5 LOOP PERFORM vectorstore.vs_stores(max_items => 1); COMMIT; END LOOP;
	END $$;
});
like($err, qr/max_requests_per_statement \(2\)/, 'DO with COMMIT: the cap of 2 stops the block');
cmp_ok(scalar(@{ $emu->requests }), '<=', 2, 'DO with COMMIT: at most 2 requests sent');

$emu->clear_requests;
($ret, $out, $err) = $node->psql('postgres',
	'SET vectorstore.max_requests_per_statement = 2; CALL five()');
like($err, qr/max_requests_per_statement \(2\)/, 'CALL with COMMIT: the cap of 2 stops the procedure');
cmp_ok(scalar(@{ $emu->requests }), '<=', 2, 'CALL with COMMIT: at most 2 requests sent');

$node->stop;
$emu->stop;
done_testing();
