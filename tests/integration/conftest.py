"""Fixtures that start the simulator and mount seedancefs the way a user does.

Every mount is unmounted (fusermount3 -u) and every process stopped in the
fixture's teardown, also when the test fails.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("SEEDANCEFS_BUILD", "build"))
FIXTURE = os.path.join(BUILD, "fixture.mp4")
KEY = "sk-test-" + "7f3a9c" * 4          # a key we can grep for
# The daemon runs under a wrapper (make valgrind): tens of times slower than
# the simulator, and its environment block is the wrapper's, not its own.
WRAPPED = bool(os.environ.get("SEEDANCEFS_WRAPPER", "").split())


def wait_until(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Polls `predicate` until true; bounded in time (a hang detector, not a timing test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def create_elsewhere(sim, prompt, timeout=10):
    """Another client of the same account creates a task at `sim`: its id."""
    req = urllib.request.Request(
        sim.url + "/seedance/api/v3/contents/generations/tasks", method="POST",
        data=json.dumps({"model": "doubao-seedance-2-0-260128",
                         "content": [{"type": "text", "text": prompt}]}).encode(),
        headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)["id"]


class Sim:
    def __init__(self, args=()):
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "seedance-sim"), "--port", "0", "--video", FIXTURE,
             "--key", KEY, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self):
        with urllib.request.urlopen(self.url + "/sim/stats", timeout=5) as r:
            return json.load(r)

    def tasks(self):
        with urllib.request.urlopen(self.url + "/sim/tasks", timeout=5) as r:
            return json.load(r)

    def control(self, **settings):
        req = urllib.request.Request(self.url + "/sim/control", method="POST",
                                     data=json.dumps(settings).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def holder_of(path):
    """The pid of the process that has `path` open (the daemon holds its
    state_dir's lock file for as long as it runs)."""
    path = os.path.realpath(path)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == path for fd in fds):
                return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process holds {path}")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class Mount:
    """A running `seedancefs MNT -f -o api_url=...,state_dir=...`.

    foreground=False runs it the way a user without -f does: the command
    returns once the mount is up, the daemon logs to STATE/seedancefs.log and
    is known by the pid its "mounted" line names. `dir` and `state` may be
    given (a restart); a relative `state` is taken from `dir`, the
    command's working directory."""

    def __init__(self, sim, options=(), env_key=True, state=None, foreground=True, dir=None,
                 env=None, state_option=True):
        self.dir = dir or tempfile.mkdtemp(prefix="sdfs-")
        self.mnt = os.path.join(self.dir, "mnt")
        self.state = state or os.path.join(self.dir, "state")
        self.foreground = foreground
        os.makedirs(self.mnt, exist_ok=True)
        self.log_path = os.path.join(self.dir, "daemon.log")
        if not foreground:
            self.log_path = os.path.join(self.dir, self.state, "seedancefs.log")
        self.check_exit = True
        self.returncode = None
        # state_option=False: the daemon picks its state dir (then `state`
        # says where it will be, e.g. $STATE_DIRECTORY).
        opts = ",".join([f"api_url={sim.url}", *([f"state_dir={self.state}"] * state_option),
                         "poll_interval=0.2", *options])
        extra_env, env = env, dict(os.environ)
        if env_key:
            env["SEEDANCE_API_KEY"] = KEY
        for name, value in (extra_env or {}).items():   # None: unset
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        wrapper = os.environ.get("SEEDANCEFS_WRAPPER", "").split()
        cmd = [*wrapper, os.path.join(BUILD, "seedancefs"), "mnt", "-o", opts]
        if not foreground:
            # The parent returns once the mount is up: nothing to wait for but it.
            # Its output goes to a file, not a pipe: the daemon (or valgrind's
            # copy of stderr in it) may hold a pipe open long after.
            try:
                with open(os.path.join(self.dir, "startup.out"), "w+") as out:
                    done = subprocess.run(cmd, env=env, cwd=self.dir, stdout=out,
                                          stderr=subprocess.STDOUT, text=True, timeout=60)
                    out.seek(0)
                    done.stderr = out.read()
                self.startup = done
                if done.returncode or not os.path.ismount(self.mnt):
                    raise RuntimeError(f"seedancefs exited {done.returncode}: {done.stderr}")
                self.pid = holder_of(os.path.join(self.dir, self.state, "lock"))
            except Exception:
                self.abandon()
                raise
            return
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd[:-2] + ["-f"] + cmd[-2:], env=env, cwd=self.dir,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: os.path.ismount(self.mnt) or self.proc.poll() is not None,
                       timeout=30, what="mount")
            if not os.path.ismount(self.mnt):
                raise RuntimeError("seedancefs exited: " + self.read_log())
        except Exception:
            self.unmount()
            raise

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def kill9(self):
        """The daemon dies at once (kill -9); the dead mount is cleaned up."""
        self.check_exit = False
        self.proc.kill()
        self.proc.wait()
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], stderr=subprocess.DEVNULL)

    def stop(self, keep=False):
        """Unmounts and waits for the daemon to exit (bounded); `keep` leaves
        the directory (state, log) for a restart."""
        if self.returncode is not None:
            return                          # stopped before
        if os.path.ismount(self.mnt):
            if subprocess.run(["fusermount3", "-u", self.mnt]).returncode:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt])
        if self.foreground:
            try:
                self.returncode = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.returncode = self.proc.wait()
            self.log.close()
        else:
            try:
                wait_until(lambda: not pid_alive(self.pid), timeout=60, what="daemon exit")
                self.returncode = 0         # not our child: its exit status is the parent's
            except AssertionError:
                os.kill(self.pid, signal.SIGKILL)
                self.returncode = -9
        if os.environ.get("SEEDANCEFS_KEEP_LOGS") or (self.returncode and self.check_exit):
            print(f"--- daemon log of {self.mnt} (exit status {self.returncode}) ---")
            print(self.read_log())
        if not keep:
            self.cleanup()

    def abandon(self):
        """A daemon-mode start that failed half-way: no mount and no daemon
        are left behind (the daemon is found by its state lock, by PID)."""
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", "-z", self.mnt])
        try:
            os.kill(holder_of(os.path.join(self.dir, self.state, "lock")), signal.SIGKILL)
        except (RuntimeError, OSError):
            pass
        self.returncode = 0
        self.cleanup()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def unmount(self):
        self.stop()

    # What users do in the shell, as helpers.
    def submit(self, name, body):
        text = body if isinstance(body, str) else json.dumps(body)
        return subprocess.run(["sh", "-c", f'cat > "$1"', "sh", self.path("requests", name)],
                              input=text, text=True, capture_output=True)

    def task_dir(self, name):
        return self.path("by-name", name)

    def status(self, name):
        with open(os.path.join(self.task_dir(name), "status")) as f:
            return f.read()

    def wait_status(self, name, want=("succeeded", "failed", "cancelled", "expired"), timeout=30):
        return wait_until(lambda: self.status(name).strip() in want and self.status(name),
                          timeout=timeout, what=f"{name} to reach {want}")


@pytest.fixture
def start_sim():
    sims = []

    def start(*args):
        sim = Sim(args)
        sims.append(sim)
        return sim
    yield start
    for sim in sims:
        sim.stop()


@pytest.fixture
def start_mount():
    mounts = []

    def start(sim, *options, **kw):
        m = Mount(sim, options, **kw)
        mounts.append(m)
        return m
    yield start
    for m in reversed(mounts):
        m.unmount()
    # A clean unmount exits 0; under valgrind/ASan a memory error does not.
    bad = [(m.mnt, m.returncode) for m in mounts if m.returncode != 0 and m.check_exit]
    assert not bad, f"daemon exit status after unmount: {bad}"


@pytest.fixture
def state_dir(tmp_path):
    """A state_dir that outlives one mount, for restart tests."""
    path = tmp_path / "state"
    path.mkdir()
    return str(path)


@pytest.fixture
def sim(start_sim):
    return start_sim()


@pytest.fixture
def mount(sim, start_mount):
    return start_mount(sim)
