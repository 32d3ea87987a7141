"""What every row of tools/bench spam is measured with: CPU time of child processes and
of running daemons, and the detection figures over labelled messages."""
import os
import subprocess
import sys
import tempfile
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_cpu(cmd, check=True, cwd=None):
    """Run cmd to its end: (stdout, CPU seconds user+sys of it and the children it waited
    for, wall seconds). The rusage is this child's own (wait4), so runs may overlap."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {stderr.decode(errors='replace')[-2000:]}")
    return stdout, ru.ru_utime + ru.ru_stime, time.monotonic() - t0


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
