#!/usr/bin/python3
"""Checks the shipped policy's verdicts on a generated corpus against the corpus index
(ground truth the policy never saw): per message, in corpus order, as written by
`bench-engine --verdicts` (whole SMTP sessions through the engine and the matcher).

  - the direction the policy decided is the index's;
  - dlp.credit-card / dlp.tw-national-id (or dlp.card-dump) fire exactly on outbound
    messages that carry a Luhn-valid card number / checksum-valid Taiwan ID; never on
    the decoys (numbers that fail the checksum);
  - attach.executable fires exactly on messages with an executable-named attachment
    (names decoded from RFC 2047/2231), av.eicar exactly on messages with EICAR;
  - the verdict is reject when either of those fired.

usage: check_verdicts.py INDEX.jsonl VERDICTS.jsonl
"""

import json
import sys

CARD_RULES = {'dlp.credit-card', 'dlp.tw-national-id', 'dlp.card-dump'}


def main():
	index = [json.loads(line) for line in open(sys.argv[1], encoding='utf-8')]
	verdicts = [json.loads(line) for line in open(sys.argv[2], encoding='utf-8')]
	problems = []
	if len(verdicts) != len(index):
		problems.append(f'{len(verdicts)} verdicts for {len(index)} messages')
	counts = {'cards': 0, 'exe': 0, 'eicar': 0}
	for v in verdicts:
		e = index[v['n']]
		fired = {r['id'] for r in v['rules']}
		where = f"message {e['n']} ({e.get('file', '')})"
		if v['direction'] != e['direction']:
			problems.append(f"{where}: direction {v['direction']}, index {e['direction']}")
		want_card = e['direction'] == 'outbound' and bool(e['dlp']['cards'] or e['dlp']['tw_ids'])
		counts['cards'] += want_card
		if bool(fired & CARD_RULES) != want_card:
			problems.append(f"{where}: card/ID rules {sorted(fired & CARD_RULES)}, index "
			                f"cards {e['dlp']['cards']} IDs {e['dlp']['tw_ids']} "
			                f"decoys {e['dlp']['decoy_cards'] + e['dlp']['decoy_tw_ids']} "
			                f"({e['direction']})")
		want_exe = bool(e['executables'])
		counts['exe'] += want_exe
		if ('attach.executable' in fired) != want_exe:
			problems.append(f"{where}: attach.executable {'fired' if not want_exe else 'missed'}"
			                f" (executables {e['executables']})")
		counts['eicar'] += e['dlp']['eicar']
		if ('av.eicar' in fired) != e['dlp']['eicar']:
			problems.append(f"{where}: av.eicar {'fired' if not e['dlp']['eicar'] else 'missed'}")
		if (want_exe or e['dlp']['eicar']) and v['verdict'] != 'reject':
			problems.append(f"{where}: verdict {v['verdict']}, want reject")
	print(f"{len(verdicts)} verdicts checked: {counts['cards']} outbound with cards/IDs, "
	      f"{counts['exe']} with executables, {counts['eicar']} with EICAR")
	for p in problems[:40]:
		print('FAIL', p)
	if problems:
		print(f'{len(problems)} problems')
		sys.exit(1)


if __name__ == '__main__':
	main()
