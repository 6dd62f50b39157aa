# Red team, round three: a revoked credential keeps working for as long as
# the role keeps a transaction open. The threat model: "Keep using a
# revoked credential: refused at once"; for search tables "checked at
# every scan start". A cursor declared before the revoke sends new searches
# with the revoked credential's key at every FETCH afterwards, for a
# search table (the credential is fetched once, at BeginForeignScan, and
# reused by every rescan) and for vs_search (the lookup does not see the
# revoke until the role's transaction takes a new lock). Each FETCH is a
# statement of its own, so max_requests_per_statement does not bound it.
# Fails today: after vs_credential_revoke, alice's FETCH sends searches
# carrying the revoked key.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use VsTest;

my $emu = VsTest::Emulator->start;
my $node = VsTest::new_node('revokecur', $emu);
$node->start;
my $url = $emu->url . '/v1';
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vectorstore;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA vectorstore TO alice;
	GRANT CREATE ON SCHEMA public TO alice;
	REVOKE USAGE ON FOREIGN SERVER vectorstore FROM PUBLIC;
	SELECT vectorstore.vs_credential_set('team', 'sk-team-SECRET-1234', base_url => '$url');
});
my $vs = $node->safe_psql('postgres', "SELECT id FROM vectorstore.vs_store_create(name => 'st')");

for my $case (
	[ 'search table', "SELECT g, (SELECT count(*) FROM alice_s WHERE query = 'q' || g) FROM generate_series(1, 1000) g" ],
	[ 'vs_search', "SELECT g, (SELECT count(*) FROM vectorstore.vs_search('$vs', 'q' || g)) FROM generate_series(1, 1000) g" ])
{
	my ($name, $query) = @$case;
	$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_grant('team', 'alice')");
	$node->safe_psql('postgres', "CREATE FOREIGN TABLE IF NOT EXISTS alice_s (query text, file_id text, score float8) "
		  . "SERVER team OPTIONS (vector_store_id '$vs'); ALTER FOREIGN TABLE alice_s OWNER TO alice");

	# alice opens a cursor and reads two rows
	my %s = (in => '', out => '', err => '');
	my $timer = IPC::Run::timer(60);
	my $h = IPC::Run::start(['psql', '-XAtq', '-d', $node->connstr('postgres') . ' user=alice'],
		'<', \$s{in}, '>', \$s{out}, '2>', \$s{err}, $timer);
	$s{in} .= "SET vectorstore.credential = 'team'; BEGIN; DECLARE c CURSOR FOR $query; FETCH 2 FROM c; SELECT 'fetched';\n";
	$h->pump until $s{out} =~ /fetched/ || $timer->is_expired;
	die "alice's session: $s{err}" if $timer->is_expired;

	# the credential is taken away; alice fetches on
	$node->safe_psql('postgres', "SELECT vectorstore.vs_credential_revoke('team', 'alice')");
	$emu->clear_requests;
	$s{in} .= "FETCH 3 FROM c; SELECT 'again';\n";
	# (a refused FETCH aborts the transaction: 'again' never comes, the error does)
	$h->pump until $s{out} =~ /again/ || $s{err} =~ /ERROR/ || $timer->is_expired;
	$s{in} .= "COMMIT;\n\\q\n";
	$h->finish;
	my $sent = grep { ($_->{headers}{authorization} // '') eq 'Bearer sk-team-SECRET-1234' } @{ $emu->requests };
	note("$name: alice's output after the revoke: $s{out} $s{err}");
	is($sent, 0, "$name: no request carries the revoked credential's key after vs_credential_revoke");
}

$node->stop;
$emu->stop;
done_testing();
