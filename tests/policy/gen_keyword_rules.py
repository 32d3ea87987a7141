#!/usr/bin/python3
"""Print N generated keyword rules (deterministic), for compile-time and matching
benchmarks: `gen_keyword_rules.py 10000 > kw.rules`. Each rule matches one two-word
phrase, case-insensitive, in the body or the subject, and adds one point of score."""
import random
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rng = random.Random(20240506)
    letters = 'abcdefghijklmnopqrstuvwxyz'

    def word():
        return ''.join(rng.choice(letters) for _ in range(rng.randint(5, 11)))
    for i in range(n):
        print(f'rule kw.{i:05d} {{ match body, header:subject "{word()} {word()}" nocase score 1 }}')


if __name__ == '__main__':
    main()
