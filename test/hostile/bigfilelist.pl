#!/usr/bin/perl
# bigfilelist.pl DIR: stallfiles.pl's server, but the batch's file list is
# answered: each page one file (a new id each time), "failed", whose
# last_error message is BIGMB MB (from the environment, default 60) of
# "A", has_more true. Logs one line per request to DIR/requests, writes
# DIR/port. 127.0.0.1 only, one child per connection. Stop it by its
# process group.
use strict; use warnings; use FindBin; use lib $FindBin::Bin; use Serve;
my $dir = shift or die;
my $big = 'A' x (($ENV{BIGMB} // 60) * 1024 * 1024);
Serve::run($dir, sub {
	my ($method, $path) = @_;
	return (200, Serve::file_json(Serve::next_id('file-'))) if $method eq 'POST' && $path =~ m{/files$};
	if ($method eq 'POST' && $path =~ m{/vector_stores/([^/]+)/file_batches$}) {
		my $vs = $1;
		return (200, Serve::batch_json(Serve::next_id('vsfb_'), $vs, 'in_progress'));
	}
	if ($method eq 'GET' && $path =~ m{/file_batches/[^/?]+/files}) {
		my $id = Serve::next_id('file-x');
		return (200, qq({"object":"list","data":[{"id":"$id","object":"vector_store.file","status":"failed","last_error":{"code":"server_error","message":"$big"}}],"first_id":"$id","last_id":"$id","has_more":true}));
	}
	return (200, Serve::batch_json($2, $1, 'failed')) if $method eq 'GET' && $path =~ m{/vector_stores/([^/]+)/file_batches/([^/?]+)};
	return (400, Serve::error_json());
});
