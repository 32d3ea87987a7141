#!/usr/bin/perl
# SpamAssassin's rendered body text (what its body rules see) of each message, in
# render_dump's format: "=== FILE" and the lines.
# usage: sa_render.pl FILE.eml...
use strict;
use warnings;
use Mail::SpamAssassin;

my $sa = Mail::SpamAssassin->new({
	local_tests_only => 1,
	dont_copy_prefs => 1,
	userprefs_filename => '/nonexistent/user_prefs',
	userstate_dir => '/nonexistent/state',
});
for my $file (@ARGV) {
	open(my $fh, '<', $file) or die "$file: $!\n";
	local $/;
	my $raw = <$fh>;
	close $fh;
	my $msg = $sa->parse($raw);
	# each element is one line to the rules: a paragraph, or a piece of a long one
	print "=== $file\n", map({ /\n\z/ ? $_ : "$_\n" } @{$msg->get_rendered_body_text_array()});
	$msg->finish();
}
