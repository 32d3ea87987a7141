#!/usr/bin/perl
# SpamAssassin's own view of each message, one line of output per message:
#   sa_hits.pl FILE.eml...           the rules (and __ sub-rules) that hit and the score,
#                                    as JSON {"file","score","hits"}
#   sa_hits.pl --render FILE.eml...  the rendered body text its body rules see
#                                    (render_dump's format: "=== FILE", then the lines)
#   sa_hits.pl --bayes PATH [--cf LINE]... FILE.eml...
#                                    the same with Bayes on, read from bayes_path PATH
#                                    (trained beforehand by sa-learn; never learns here),
#                                    and configuration lines added
# Local tests only (no DNS, Razor, Pyzor, DCC), no Bayes unless asked, no auto-welcomelist:
# the same ruleset `sluicectl rules import-sa` reads.
use strict;
use warnings;
use Mail::SpamAssassin;

my $render = @ARGV && $ARGV[0] eq '--render' ? shift @ARGV : 0;
my ($bayes_path, $cf) = (undef, '');
while (@ARGV >= 2 && ($ARGV[0] eq '--bayes' || $ARGV[0] eq '--cf')) {
	my $opt = shift @ARGV;
	if ($opt eq '--bayes') {
		$bayes_path = shift @ARGV;
	} else {
		$cf .= shift(@ARGV) . "\n";
	}
}
# with Bayes, SpamAssassin takes its score set 2 (Bayes, no network tests) by itself
my $bayes = defined $bayes_path ?
	"use_bayes 1\nbayes_auto_learn 0\nbayes_path $bayes_path\n" : "use_bayes 0\n";
my $sa = Mail::SpamAssassin->new({
	local_tests_only => 1,
	dont_copy_prefs => 1,
	userprefs_filename => '/nonexistent/user_prefs',
	userstate_dir => '/nonexistent/state',
	post_config_text => $bayes . "use_auto_welcomelist 0\n" . $cf,
});
$sa->init(1) unless $render;

sub json_str {
	my ($s) = @_;
	$s =~ s/(["\\])/\\$1/g;
	$s =~ s/([\x00-\x1f])/sprintf("\\u%04x", ord($1))/ge;
	return "\"$s\"";
}

for my $file (@ARGV) {
	open(my $fh, '<', $file) or die "$file: $!\n";
	local $/;
	my $raw = <$fh>;
	close $fh;
	my $msg = $sa->parse($raw);
	if ($render) {
		# each element is one line to the rules: a paragraph, or a piece of a long one
		print "=== $file\n", map({ /\n\z/ ? $_ : "$_\n" } @{$msg->get_rendered_body_text_array()});
		$msg->finish();
		next;
	}
	my $status = $sa->check($msg);
	my @hits = grep { $_ ne '' } split(/,/, $status->get_names_of_tests_hit());
	push @hits, grep { $_ ne '' } split(/,/, $status->get_names_of_subtests_hit());
	printf "{\"file\":%s,\"score\":%.3f,\"hits\":[%s]}\n", json_str($file), $status->get_score(),
		join(',', map { json_str($_) } sort @hits);
	$status->finish();
	$msg->finish();
}
