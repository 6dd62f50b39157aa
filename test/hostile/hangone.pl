#!/usr/bin/perl
# hangone.pl DIR: a server that holds every request whose body contains HANG
# (never answers, for an hour) and answers every other (after HDELAY ms, from
# the environment): POST /files with a file, anything else 400. Logs one line
# per request to DIR/requests, writes DIR/port. 127.0.0.1 only, one child per
# connection (HTTP/1.1 keep-alive). Stop it by its process group.
use strict; use warnings; use FindBin; use lib $FindBin::Bin; use Serve;
my $dir = shift or die;
Serve::run($dir, sub {
	my ($method, $path, $body) = @_;
	return if $body =~ /HANG/;
	select(undef, undef, undef, ($ENV{HDELAY} // 0) / 1000) if $ENV{HDELAY};
	return (200, Serve::file_json(Serve::next_id('file-'))) if $method eq 'POST' && $path =~ m{/files$};
	return (400, Serve::error_json());
}, port => $ENV{HPORT});
