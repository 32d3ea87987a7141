"""Synthetic SMTP traffic: TCP sessions carrying corpus messages, written as pcap
captures (and as plain stream files for the engine benchmark). `tools/trafficgen` is the
command line. Python 3 standard library only (struct packing, for speed)."""
