"""What every row of tools/bench spam is measured with: CPU time of child processes and
of running daemons, and the detection figures over labelled messages."""
import os
import resource
import subprocess
import sys
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cpu(cmd, check=True, **kw):
    """Run cmd to its end: (stdout, CPU seconds user+sys of it and its children, wall)."""
    c0, t0 = child_cpu(), time.monotonic()
    out = subprocess.run(cmd, capture_output=True, **kw)
    if check and out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {out.returncode}: {out.stderr.decode(errors='replace')[-2000:]}")
    return out.stdout, child_cpu() - c0, time.monotonic() - t0


def proc_cpu(pids):
    """CPU seconds (user+sys, with reaped children) so far of live processes and of their
    children, from /proc/PID/stat: for daemons, whose work a client only asks for."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0, set()
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
            except OSError:
                continue  # ended meanwhile
            fields = s[s.rfind(")") + 2:].split()  # after "pid (comm) "
            stats[int(d)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo += [p for p, (ppid, _) in stats.items() if ppid == pid]
    return total / tick


def stats(flagged, labels):
    """precision, recall, false-positive rate, F1 of {file: flagged} against {file: spam}."""
    tp = sum(1 for f, s in flagged.items() if s and labels[f])
    fp = sum(1 for f, s in flagged.items() if s and not labels[f])
    fn = sum(1 for f, s in flagged.items() if not s and labels[f])
    nham = sum(1 for f in flagged if not labels[f])
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, fp / nham if nham else 0.0, f1
