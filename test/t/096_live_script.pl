# test/live.sh, the opt-in live suite, run against the local server so that
# the script itself is known to work before anyone points it at the real
# service: without a key it sends nothing and says so; with one it passes
# every step, and leaves nothing behind (counted on the emulator); a step
# that fails is reported as failed and the script exits non-zero.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use VsTest;

my $top = $ENV{TESTDIR} // '.';
my $script = "$top/test/live.sh";

sub live
{
	my (%env) = @_;
	local %ENV = %ENV;
	delete $ENV{$_} for qw(OPENAI_API_KEY AZURE_OPENAI_API_KEY AZURE_OPENAI_ENDPOINT VS_LIVE_BASE_URL VS_LIVE_AZURE_BASE_URL);
	$ENV{$_} = $env{$_} for keys %env;
	my $out;
	IPC::Run::run([ 'bash', $script ], '>', \$out, '2>&1', IPC::Run::timeout(900));
	return ($? >> 8, $out // '');
}

# --- no key: skipped, nothing sent
{
	my ($rc, $out) = live();
	is($rc, 0, 'without a key the live suite exits 0');
	like($out, qr/live: skipped: no OPENAI_API_KEY/, '... saying it was skipped');
}

# --- the OpenAI tour against the emulator (with a key it checks)
my $emu = VsTest::Emulator->start(processing_delay_ms => 50, api_key => 'sk-live-test');
{
	my ($rc, $out) = live(OPENAI_API_KEY => 'sk-live-test', VS_LIVE_BASE_URL => $emu->url . '/v1');
	is($rc, 0, 'the live tour passes against the emulator') or diag($out);
	my @ok = $out =~ /^ok: /mg;
	cmp_ok(scalar @ok, '>=', 35, scalar(@ok) . ' steps passed');
	unlike($out, qr/FAILED/, 'no step failed');
	like($out, qr/cleanup: nothing named \.\.\.vectorstore-live-\S+ is left/, 'the script says it cleaned up');
	# counted on the server itself, with the key
	my ($st, $list) = $emu->request('GET', '/v1/vector_stores', undef, Authorization => 'Bearer sk-live-test');
	is(scalar @{ $list->{data} }, 0, 'no vector store is left on the server');
	($st, $list) = $emu->request('GET', '/v1/files', undef, Authorization => 'Bearer sk-live-test');
	is(scalar @{ $list->{data} }, 0, 'no file is left on the server');
	cmp_ok($emu->count('POST /v1/vector_stores/{id}/search'), '>=', 3, 'the tour searched');
	unlike($out, qr/sk-live-test/, 'the key appears nowhere in the output');
}

# --- a step that fails is reported, the script fails, and it still cleans up
{
	$emu->reset;
	$emu->fault({ kind => 'should_retry_false', count => 100, route => '/search' });
	my ($rc, $out) = live(OPENAI_API_KEY => 'sk-live-test', VS_LIVE_BASE_URL => $emu->url . '/v1');
	isnt($rc, 0, 'a failing step makes the live suite fail');
	like($out, qr/^FAILED: vs_search: 58000 /m, '... naming the step and the error');
	like($out, qr/cleanup: nothing named \.\.\.vectorstore-live-\S+ is left/, '... and it still cleans up');
	$emu->clear_faults;
}

# --- a wrong key: every step fails, nothing is created, the key is not shown
{
	$emu->reset;
	my ($rc, $out) = live(OPENAI_API_KEY => 'sk-wrong-key', VS_LIVE_BASE_URL => $emu->url . '/v1');
	isnt($rc, 0, 'a wrong key fails the live suite');
	like($out, qr/^FAILED: vs_store_create: 42501 /m, '... with the API\'s 401 as 42501');
	unlike($out, qr/sk-wrong-key/, '... and the key is scrubbed from what it prints');
}
$emu->stop;

# --- the Azure tour against the emulator's Azure mode: the api-key header and
# the api-version query from the settings credential, on every request
my $az = VsTest::Emulator->start(processing_delay_ms => 50, api_key => 'az-live-key', args => ['--azure']);
{
	my ($rc, $out) = live(AZURE_OPENAI_API_KEY => 'az-live-key', VS_LIVE_AZURE_BASE_URL => $az->url . '/openai',
		OPENAI_API_VERSION => '2024-10-21');
	is($rc, 0, 'the Azure live tour passes against the emulator\'s Azure mode') or diag($out);
	like($out, qr/^live azure: \d+ ok, 0 failed$/m, '... every step');
	my @reqs = @{ $az->requests };
	cmp_ok(scalar @reqs, '>=', 30, scalar(@reqs) . ' requests went to the Azure paths');
	is(scalar(grep { $_->{path} !~ m{^/openai/} } @reqs), 0, 'all of them under /openai');
	is(scalar(grep { ($_->{query} // '') !~ /(^|&)api-version=2024-10-21(&|$)/ } @reqs), 0, 'each with the api-version');
	is(scalar(grep { ($_->{headers}{'api-key'} // '') ne 'az-live-key' || exists $_->{headers}{authorization} } @reqs), 0,
		'each with the api-key header and no Authorization');
	my ($st, $list) = $az->request('GET', '/openai/files?api-version=2024-10-21', undef, 'api-key' => 'az-live-key');
	is(scalar @{ $list->{data} }, 0, 'no file is left on the server');
	unlike($out, qr/az-live-key/, 'the key appears nowhere in the output');
}
$az->stop;
done_testing();
