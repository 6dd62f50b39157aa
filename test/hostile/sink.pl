#!/usr/bin/perl
# sink.pl DIR: a server that accepts every connection and never reads from
# it nor answers (the request stalls once the socket buffers are full).
# Writes DIR/port; appends one line per connection to DIR/requests.
# 127.0.0.1 only (port 0, or HPORT). Stop it by its process group.
use strict; use warnings; use IO::Socket::INET;
my $dir = shift or die;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ENV{HPORT} // 0,
	Listen => 64, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
open(my $p, '>', "$dir/port.tmp") or die; print $p $l->sockport, "\n"; close $p;
rename("$dir/port.tmp", "$dir/port") or die;
$SIG{TERM} = sub { exit 0 };
my @held;
while (my $c = $l->accept)
{
	push @held, $c;
	open(my $r, '>>', "$dir/requests") or die; print $r "connection\n"; close $r;
}
