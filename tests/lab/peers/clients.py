#!/usr/bin/python3
"""Well-behaved SMTP clients at the same time (smtplib), one thread per source address:
  clients.py SERVER FIRST_ADDR COUNT MESSAGES ID
sends MESSAGES messages from each of COUNT addresses starting at FIRST_ADDR (one
session per message, as an MTA without connection caching does) and prints one JSON
object: delivered, failed (with the first errors), seconds, messages/s. A client whose
connection is refused retries (as a real MTA would, later) up to 3 times, counted."""
import ipaddress
import json
import smtplib
import sys
import threading
import time


def main():
    server, first, count, messages, mid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    lock = threading.Lock()
    res = {"delivered": 0, "failed": 0, "retries": 0, "errors": []}

    def client(addr, k):
        for m in range(messages):
            body = (f"From: c{k}@example.org\r\nTo: bob@example.net\r\nSubject: {mid}-{k}-{m}\r\n"
                    f"Message-ID: <{mid}-{k}-{m}@example.org>\r\n\r\n" + "well behaved\r\n" * 50)
            for attempt in range(4):
                try:
                    with smtplib.SMTP(server, 25, source_address=(addr, 0), timeout=30) as c:
                        c.sendmail(f"c{k}@example.org", ["bob@example.net"], body.encode())
                    with lock:
                        res["delivered"] += 1
                    break
                except (smtplib.SMTPException, OSError) as e:
                    with lock:
                        if attempt == 3:
                            res["failed"] += 1
                            if len(res["errors"]) < 5:
                                res["errors"].append(f"{addr}: {type(e).__name__}: {e}")
                        else:
                            res["retries"] += 1
                    time.sleep(1)

    base = ipaddress.ip_address(first)
    t0 = time.time()
    threads = [threading.Thread(target=client, args=(str(base + k), k)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    res["seconds"] = round(took, 2)
    res["messages_per_s"] = round(res["delivered"] / took, 1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
