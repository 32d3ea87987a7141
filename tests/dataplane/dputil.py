"""Running sluice-dp from the tests: binary location, unique EAL file prefixes, vdevs,
its telemetry socket, and runs that end once the counters say the work is done."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get('SLUICE_BUILD_ROOT', 'build')
SOURCE = os.environ.get('SLUICE_SOURCE_ROOT', '.')
DP = os.path.join(BUILD, 'dataplane', 'sluice-dp')


class Failed(Exception):
    """A check failed (raised by check; an assert would vanish under python -O)."""


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def eal(tag, vdevs, lcores='0'):
    """EAL options for a run that shares the machine with other DPDK users."""
    args = ['--no-pci', '--no-huge', '-m', '256', '--file-prefix', f'sl_{tag}_{os.getpid()}',
            '--lcores' if '@' in lcores else '-l', lcores, '--log-level', 'warning']
    for v in vdevs:
        args += ['--vdev', v]
    return args


def run(eal_args, dp_args, timeout=60):
    return subprocess.run([DP] + eal_args + ['--'] + dp_args, capture_output=True,
                          text=True, timeout=timeout)


def stats(path):
    with open(path) as f:
        return json.load(f)


def telemetry_path(eal_args):
    prefix = eal_args[eal_args.index('--file-prefix') + 1]
    return os.path.join('/var/run/dpdk', prefix, 'dpdk_telemetry.v2')


class Telemetry:
    """DPDK's telemetry socket of a running sluice-dp: query('/sluice/ports') -> dict."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.maxlen = json.loads(self.sock.recv(1024).decode())['max_output_len']

    def query(self, cmd):
        self.sock.send(cmd.encode())
        return json.loads(self.sock.recv(self.maxlen).decode())[cmd]

    def close(self):
        self.sock.close()


def run_until(eal_args, dp_args, done, what, timeout=120):
    """Run sluice-dp until done(telemetry) is true, then stop it with SIGTERM (on its
    way out it writes --stats-file and closes its ports, which flushes net_pcap's
    tx_pcap files). Returns (returncode, stdout, stderr, problem): problem is None, or
    says what never happened within `timeout` seconds (the counters are polled, not
    guessed from a fixed duration: a loaded machine is slow, not wrong)."""
    # --duration only as a safety net: a sluice-dp left behind by a killed test stops
    dp_args = dp_args + ['--duration', str(timeout + 30)]
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        p = subprocess.Popen([DP] + eal_args + ['--'] + dp_args, stdout=out, stderr=err, text=True)
        problem, tel = None, None
        deadline = time.monotonic() + timeout
        try:
            while problem is None:
                if p.poll() is not None:
                    problem = f'sluice-dp exited ({p.returncode}) before {what}'
                elif time.monotonic() > deadline:
                    problem = f'{what}: not within {timeout} s'
                else:
                    try:
                        tel = tel or Telemetry(telemetry_path(eal_args))
                        if done(tel):
                            break
                    except (OSError, ValueError, KeyError, TypeError):
                        if tel:  # not up yet, or its commands not yet registered
                            tel.close()
                        tel = None
                    time.sleep(0.05)
        finally:
            if tel:
                tel.close()
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                problem = problem or 'sluice-dp did not stop on SIGTERM'
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), problem


def settled(tel, cmds=('/sluice/ports', '/sluice/messages', '/sluice/flows'), quiet=0.3):
    """True when the counters of cmds stayed the same for `quiet` seconds (the worker
    has nothing left to do with what it received)."""
    first = [tel.query(c) for c in cmds]
    time.sleep(quiet)
    return first == [tel.query(c) for c in cmds]
