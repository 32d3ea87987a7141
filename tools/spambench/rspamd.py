"""rspamd 3.4 (Debian) with its Bayes in a private redis-server, both started here in a
network namespace of their own (only its loopback: no DNS or other query can leave the
host), bound to 127.0.0.1 in it, configured from Debian's /etc/rspamd with a private
LOCAL_CONFDIR, RUNDIR, LOGDIR and DBDIR, and stopped by PID."""
import json
import os
import pwd
import signal
import subprocess
import time

from .measure import log, proc_cpu, run_cpu

REDIS_PORT, NORMAL_PORT, CONTROLLER_PORT = 6379, 11333, 11334

# Modules that query DNS (RBLs, SPF, DKIM, DMARC, HELO/rDNS checks), other servers (fuzzy,
# DCC, antivirus, external services) or fetch maps from maps.rspamd.com, or keep state in
# redis across messages (greylisting, rate limits, replies, reputation, neural): off, as
# SpamAssassin runs with -L. What stays: the regexp rules, MIME/header/URL heuristics
# (chartable, mime_types, mid, once_received, forged_recipients, maillist...) and Bayes.
OFF = ("rbl surbl dkim spf dmarc arc asn fuzzy_check whitelist phishing multimap mx_check "
       "greylist ratelimit replies reputation neural dcc external_services antivirus "
       "rspamd_update url_redirector history_redis dkim_signing bimi clickhouse elastic "
       "metric_exporter p0f spamtrap hfilter emails").split()

# rspamd's actions (/etc/rspamd/actions.conf): "add header" at 6, "reject" at 15; a
# message is counted as spam from "add header" up (greylisting at 4 is not a verdict).
SPAM_ACTIONS = ("add header", "rewrite subject", "reject")


class Rspamd:
    def __init__(self, work, smoke):
        self.dir = os.path.join(work, "rspamd")
        self.ns = f"sluice-bench-spam-{os.getpid()}"
        self.smoke = smoke
        self.redis = self.daemon = None

    def _in_ns(self, cmd):
        return ["ip", "netns", "exec", self.ns] + cmd

    def _configure(self):
        conf = os.path.join(self.dir, "conf")
        for d in ("override.d", "local.d", "run", "log", "db"):
            os.makedirs(os.path.join(conf if d.endswith(".d") else self.dir, d), exist_ok=True)

        def put(name, text):
            with open(os.path.join(conf, name), "w") as f:
                f.write(text)
        for m in OFF:
            put(f"override.d/{m}.conf", "enabled = false;\n")
        put("override.d/worker-normal.inc", f'bind_socket = "127.0.0.1:{NORMAL_PORT}";\ncount = 1;\n')
        put("override.d/worker-controller.inc",
            f'bind_socket = "127.0.0.1:{CONTROLLER_PORT}";\ncount = 1;\npassword = "";\n'
            'secure_ip = "127.0.0.1";\nstatic_dir = "${WWWDIR}";\n')
        put("override.d/worker-proxy.inc", "count = -1;\n")
        put("local.d/redis.conf", f'servers = "127.0.0.1:{REDIS_PORT}";\n')
        # no resolver in the namespace: any lookup left fails at once
        put("local.d/options.inc", 'dns { nameserver = ["127.0.0.1:53"]; }\n')
        # rspamd's Bayes stays silent below min_learns (200) of each class: the smoke
        # run's 10 + 10 lower it
        if self.smoke:
            put("local.d/classifier-bayes.conf", "min_learns = 5;\n")
        user = pwd.getpwnam("_rspamd")
        for top, dirs, files in os.walk(self.dir):
            for n in [top] + [os.path.join(top, x) for x in dirs + files]:
                os.chown(n, user.pw_uid, user.pw_gid)
        return conf

    def start(self):
        os.chmod(os.path.dirname(self.dir), 0o711)  # _rspamd must reach its directory
        os.makedirs(self.dir, exist_ok=True)
        conf = self._configure()
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        db = os.path.join(self.dir, "db")
        logs = os.path.join(self.dir, "log")
        self.redis = subprocess.Popen(
            self._in_ns(["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT),
                         "--dir", os.path.join(self.dir, "run"), "--save", "", "--appendonly", "no",
                         "--daemonize", "no"]),
            stdout=open(os.path.join(logs, "redis.out"), "w"), stderr=subprocess.STDOUT)
        self.daemon = subprocess.Popen(
            self._in_ns(["rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", "/etc/rspamd/rspamd.conf",
                         "--var", f"LOCAL_CONFDIR={conf}", "--var", f"RUNDIR={self.dir}/run",
                         "--var", f"LOGDIR={logs}", "--var", f"DBDIR={db}"]),
            stdout=open(os.path.join(logs, "rspamd.out"), "w"), stderr=subprocess.STDOUT)
        # ready when the scanner answers (its Hyperscan databases compile first)
        probe = os.path.join(self.dir, "probe.eml")
        with open(probe, "w") as f:
            f.write("Subject: probe\r\n\r\nprobe\r\n")
        deadline = time.monotonic() + 300
        while True:
            for p, what in ((self.redis, "redis-server"), (self.daemon, "rspamd")):
                if p.poll() is not None:
                    raise RuntimeError(f"{what} exited {p.returncode} at start ({logs})")
            r = subprocess.run(self._in_ns(["rspamc", "-h", f"127.0.0.1:{NORMAL_PORT}", "-j", probe]),
                               capture_output=True)
            if r.returncode == 0 and r.stdout.lstrip().startswith(b"{"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"rspamd not answering after 300 s ({logs})")
            time.sleep(1)
        log(f"rspamd {self.daemon.pid} and redis-server {self.redis.pid} up in netns {self.ns}")

    def _redis(self, *args):
        return subprocess.run(self._in_ns(["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT)] + list(args)),
                              capture_output=True, check=True).stdout.decode().strip()

    def learn(self, train):
        """rspamc learn_spam / learn_ham on the training half (through the controller).
        Returns the CPU seconds of rspamd and redis-server while learning."""
        c0 = proc_cpu([self.daemon.pid, self.redis.pid])
        for cls in ("spam", "ham"):  # files named one by one: rspamc skips links in a directory
            names = sorted(os.path.join(train[cls], n) for n in os.listdir(train[cls]))
            run_cpu(self._in_ns(["rspamc", "-h", f"127.0.0.1:{CONTROLLER_PORT}", f"learn_{cls}"] + names))
        # rspamd 3.4 (new_schema) counts both classes' learns in the hash "RS"
        learned = {cls: int(self._redis("HGET", "RS", f"learns_{cls}") or 0) for cls in ("spam", "ham")}
        for cls in ("spam", "ham"):
            n = len(os.listdir(train[cls]))
            if learned[cls] != n:
                log(f"rspamd learned {learned[cls]} of the {n} {cls} messages (its default "
                    f"learn condition, lua_bayes_learn.can_learn, skips a message its Bayes "
                    f"already puts in that class at 95 %; also too few words, repeats)")
        self.learned = learned
        return proc_cpu([self.daemon.pid, self.redis.pid]) - c0

    def scan(self, work, test):
        """rspamc on the test half: ({file: (score, spam)}, CPU seconds of rspamd and
        redis-server while scanning: the client's own is left out)."""
        c0 = proc_cpu([self.daemon.pid, self.redis.pid])
        out, _, _ = run_cpu(self._in_ns(["rspamc", "-h", f"127.0.0.1:{NORMAL_PORT}", "-j", "--compact"]
                                        + [os.path.join(work, f) for f in test]))
        cpu = proc_cpu([self.daemon.pid, self.redis.pid]) - c0
        res = {}
        for line in out.decode().splitlines():
            v = json.loads(line)
            f = os.path.relpath(v["filename"], work)
            res[f] = (v["score"], v["action"] in SPAM_ACTIONS, "BAYES_SPAM" in v["symbols"] or
                      "BAYES_HAM" in v["symbols"])
        if set(res) != set(test):
            raise RuntimeError(f"rspamd answered for {len(res)} of {len(test)} messages")
        nobayes = sum(1 for _, _, b in res.values() if not b)
        if nobayes:
            log(f"rspamd: {nobayes} of {len(res)} test messages without a BAYES_SPAM/BAYES_HAM symbol")
        return {f: (s, spam) for f, (s, spam, _) in res.items()}, cpu

    def stop(self):
        for p in (self.daemon, self.redis):
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"{p.pid} did not end on SIGTERM: SIGKILL")
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
