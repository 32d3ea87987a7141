#!/usr/bin/env python3
"""sluicectl rules import-sa on small rule files written here: what each kind of rule
becomes, that the policy it writes compiles and fires as SpamAssassin's would on
crafted messages, that what is not imported is in the report with its reason, and that
a broken regular expression is an error naming file:line."""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from sluicetest import check, exit_code  # noqa: E402

SRC = os.environ.get('SLUICE_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('SLUICE_BUILD_ROOT', os.path.join(SRC, 'build'))
CTL = os.path.join(BUILD, 'control', 'sluicectl')


PRE = 'loadplugin Mail::SpamAssassin::Plugin::ReplaceTags\nloadplugin Mail::SpamAssassin::Plugin::HeaderEval\n'
CF = r'''
required_score 4.5
header   T_SUBJ_FREE   Subject =~ /\bfree\b/i
describe T_SUBJ_FREE   Subject says free  # a comment
score    T_SUBJ_FREE   1.25 1.5 1.75 2.0
header   __NO_ARROW    To !~ />$/
header   __HAS_XMAIL   exists:X-Mailer
header   __TOCC        exists:ToCc
header   __NO_REPLY    In-Reply-To =~ /^UNSET$/ [if-unset: UNSET]
body     __MONEY       /\$\d+/
tflags   __MONEY       multiple
body     __PARA        /^Dear friend$/
rawbody  __HTML_FONT   /<font\b/i
full     __RAW_MARK    /X-Raw-Mark: on/
body     HASHED        /price\#1/
replace_tag  W    (?:[wW]|\\\/\\\/)
replace_rules REPLACED
body     REPLACED      /<W>in now/
meta     MONEY_LOTS    __MONEY + __HTML_FONT >= 3
score    MONEY_LOTS    2
meta     NAKED_FREE    (T_SUBJ_FREE && !__HAS_XMAIL) || (__PARA && __NO_REPLY)
meta     NEEDS_EVAL    __EVAL_ONLY && T_SUBJ_FREE
header   __EVAL_ONLY   eval:check_for_missing_to_header()
header   NET_ONE       eval:check_rbl('x', 'zen.example.')
tflags   NET_ONE       net
header   ZERO          Subject =~ /zero/
score    ZERO          0
meta     DIVIDES       (__MONEY / 2) > 1
ifplugin Mail::SpamAssassin::Plugin::NotLoaded
body     NEVER         /never/
endif
if (version >= 9.000000)
body     FUTURE        /future/
else
body     PRESENT       /present day/
endif
uri      URI_TEST      /example\.com/
header   SHIFTED       eval:check_for_shifted_date('-6', '-3')
header   SHIFTED_ODD   eval:check_for_shifted_date('-7', '-3')
header   CAPS          eval:subject_is_all_caps()
meta     CAPS_FREE     CAPS && T_SUBJ_FREE
'''

MSGS = {
    'a.eml': 'From: a@example.org\r\nTo: b@example.net\r\nSubject: Free stuff\r\n\r\n'
             'Dear friend\r\n\r\nprice#1 is $10, $20 and $30, win now\r\n',
    'b.eml': 'From: a@example.org\r\nTo: <b@example.net>\r\nX-Mailer: x\r\nIn-Reply-To: <1@x>\r\n'
             'Subject: hello\r\nContent-Type: text/html\r\nX-Raw-Mark: on\r\n\r\n'
             '<p>Dear <b>friend</b></p><font>$5</font> present\r\n  day \\/\\/in now\r\n',
    # Date 4 hours before the Received date, Subject in capitals
    'c.eml': 'Received: from x.example.org by mx.example.net; Thu, 12 Dec 2002 18:00:00 +0000\r\n'
             'Date: Thu, 12 Dec 2002 14:00:00 +0000\r\nFrom: a@example.org\r\nTo: b@example.net\r\n'
             'Subject: FREE STUFF TODAY\r\n\r\nhello\r\n',
}


def hits(policy, name, d, show_quiet=True):
    """SpamAssassin's own hits include its __ sub-rules: Sluice lists its quiet rules too
    only when asked (--show-quiet)."""
    args = ['--show-quiet'] if show_quiet else []
    out = subprocess.run([CTL, 'rules', 'test', '--json', policy, os.path.join(d, name)] + args,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr)
        return set(), 0
    v = json.loads(out.stdout)
    return {r['id'] for r in v['rules']}, v['score']


def main():
    with tempfile.TemporaryDirectory() as d:
        rules = os.path.join(d, 'rules')
        os.mkdir(rules)
        open(os.path.join(rules, 'init.pre'), 'w').write(PRE)
        open(os.path.join(rules, '50_test.cf'), 'w').write(CF)
        pol, rep = os.path.join(d, 'sa.rules'), os.path.join(d, 'report.txt')
        r = subprocess.run([CTL, 'rules', 'import-sa', rules, '-o', pol, '--report', rep],
                           capture_output=True, text=True)
        check(r.returncode == 0, f'import-sa exits 0 ({r.returncode}: {r.stderr.strip()})')
        text, report = open(pol).read(), open(rep).read()
        check('threshold 4.5 quarantine' in text, 'required_score 4.5 becomes the threshold')
        check('description "Subject says free"' in text and 'score 1.25' in text,
              'describe and the first score (no network, no Bayes) are kept')
        check('Apache License 2.0' in text, 'the output carries the Apache-2.0 notice')
        for name, reason in [('__EVAL_ONLY', 'eval:check_for_missing_to_header: not implemented'),
                             ('NET_ONE', 'network test'), ('ZERO', 'score 0'),
                             ('DIVIDES', "the operator '/'"), ('URI_TEST', 'uri'),
                             ('SHIFTED_ODD', 'eval:check_for_shifted_date: not implemented')]:
            check(any(name in l and reason in l for l in report.splitlines()),
                  f'{name} listed as not imported: {reason}')
        check('NEVER' not in text and 'FUTURE' not in text and 'sa.PRESENT' in text,
              'ifplugin/if/else/endif follow the loaded plugins and the version')
        for n, body in MSGS.items():
            open(os.path.join(d, n), 'w', newline='').write(body)
        a, sa_score = hits(pol, 'a.eml', d)
        want_a = {'sa.T_SUBJ_FREE', 'sa.__NO_ARROW', 'sa.__TOCC', 'sa.__NO_REPLY', 'sa.__MONEY',
                  'sa.__PARA', 'sa.HASHED', 'sa.REPLACED', 'sa.MONEY_LOTS', 'sa.NAKED_FREE'}
        check(a == want_a, f'a.eml hits {sorted(a)}; missing {sorted(want_a - a)}, extra {sorted(a - want_a)}')
        listed, listed_score = hits(pol, 'a.eml', d, show_quiet=False)
        check(listed == {r for r in want_a if not r.startswith('sa.__')} and listed_score == sa_score,
              f'__ sub-rules are quiet: verdicts leave them out unless --show-quiet ({sorted(listed)})')
        subs = re.findall(r'^rule sa\.__\S+ \{\n(.*?)^\}', text, re.M | re.S)
        check(subs and all('\tquiet\n' in b and '\tscore' not in b for b in subs),
              f'the import writes its {len(subs)} __ sub-rules as quiet rules, without a score')
        check(abs(sa_score - (1.25 + 1 + 1 + 2 + 1)) < 1e-6, f'a.eml score {sa_score} = 6.25')
        b, _ = hits(pol, 'b.eml', d)
        want_b = {'sa.__HAS_XMAIL', 'sa.__TOCC', 'sa.__MONEY', 'sa.__PARA', 'sa.__HTML_FONT',
                  'sa.__RAW_MARK', 'sa.PRESENT', 'sa.REPLACED'}
        check(b == want_b, f'b.eml hits {sorted(b)}; missing {sorted(want_b - b)}, extra {sorted(b - want_b)}')
        check('match e: signal sa.date_past_03_06' in text and 'match e: signal sa.subject_all_caps' in text,
              'eval: tests the engine computes become its signals')
        c, _ = hits(pol, 'c.eml', d)
        want_c = {'sa.SHIFTED', 'sa.CAPS', 'sa.CAPS_FREE', 'sa.T_SUBJ_FREE'}
        check(want_c <= c and 'sa.SHIFTED_ODD' not in c,
              f'c.eml: the signals fire the eval rules and their meta ({sorted(c)})')
        check(not ({'sa.SHIFTED', 'sa.CAPS', 'sa.CAPS_FREE'} & (a | b)), 'and not on a.eml, b.eml')
        # a broken regular expression is an error at its file and line
        open(os.path.join(rules, '60_broken.cf'), 'w').write('# x\nbody BROKEN /a(b/\n')
        r = subprocess.run([CTL, 'rules', 'import-sa', rules, '-o', pol], capture_output=True, text=True)
        check(r.returncode == 1 and '60_broken.cf:2: rule BROKEN: broken regular expression' in r.stderr,
              f'broken regex: exit 1 naming 60_broken.cf:2 ({r.stderr.strip()})')
        open(os.path.join(rules, '60_broken.cf'), 'w').write('body UNTERMINATED /abc\n')
        r = subprocess.run([CTL, 'rules', 'import-sa', rules, '-o', pol], capture_output=True, text=True)
        check(r.returncode == 1 and '60_broken.cf:1: rule UNTERMINATED: unterminated' in r.stderr,
              f'unterminated regex: exit 1 naming 60_broken.cf:1 ({r.stderr.strip()})')
        r = subprocess.run([CTL, 'rules', 'import-sa', os.path.join(d, 'nosuchdir')], capture_output=True, text=True)
        check(r.returncode == 1 and 'nosuchdir' in r.stderr, 'a missing directory is an error')
    return exit_code()


if __name__ == '__main__':
    sys.exit(main())
