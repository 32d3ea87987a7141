"""What the Python tests share: checks counted as they go, and the shipped policy
without the SpamAssassin set it includes.

A test puts this folder on its path first:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))"""
import os
import shutil

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'examples')
SA_INCLUDE = 'include "spamassassin.rules"'

failures = 0


def check(cond, what):
    """One check: printed ok or FAIL and counted; the test goes on (an assert
    statement would stop at the first, and is gone under python -O)."""
    global failures
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures += 1
    return cond


def require(cond, what):
    """A check the rest of the test cannot go on without."""
    if not cond:
        raise AssertionError(what)


def exit_code():
    """The failed checks' count printed; the test's exit status."""
    print(f'{failures} failed')
    return 1 if failures else 0


def own_rules(d):
    """The shipped policy (docs/examples, copied into d) without the SpamAssassin set it
    includes: its own rules, for tests about them alone (the 1,890 imported rules take
    minutes to recompile and score test messages that are bare on purpose). The path of
    its policy.rules."""
    shutil.copytree(SHIPPED, d, dirs_exist_ok=True)
    p = os.path.join(d, 'policy.rules')
    with open(p) as f:
        text = f.read()
    if SA_INCLUDE not in text:
        raise RuntimeError(f'{SHIPPED}/policy.rules no longer has the line {SA_INCLUDE}')
    with open(p, 'w') as f:
        f.write(text.replace(SA_INCLUDE, ''))
    return p
