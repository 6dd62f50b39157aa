#!/usr/bin/perl
# stallfiles.pl DIR: a server that uploads and attaches at once, answers
# every poll of a file batch "failed" with 0 of its files completed, and
# never answers the batch's file list (GET .../file_batches/ID/files: held
# for an hour). Logs one line per request to DIR/requests, writes DIR/port.
# 127.0.0.1 only, one child per connection. Stop it by its process group.
use strict; use warnings; use FindBin; use lib $FindBin::Bin; use Serve;
my $dir = shift or die;
Serve::run($dir, sub {
	my ($method, $path) = @_;
	return (200, Serve::file_json(Serve::next_id('file-'))) if $method eq 'POST' && $path =~ m{/files$};
	if ($method eq 'POST' && $path =~ m{/vector_stores/([^/]+)/file_batches$}) {
		my $vs = $1;
		return (200, Serve::batch_json(Serve::next_id('vsfb_'), $vs, 'in_progress'));
	}
	return if $method eq 'GET' && $path =~ m{/file_batches/[^/?]+/files};
	return (200, Serve::batch_json($2, $1, 'failed')) if $method eq 'GET' && $path =~ m{/vector_stores/([^/]+)/file_batches/([^/?]+)};
	return (400, Serve::error_json());
});
