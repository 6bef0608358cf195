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


class Mount:
    """A running `seedancefs MNT -f -o api_url=...,state_dir=...`."""

    def __init__(self, sim, options=(), env_key=True, state=None):
        self.dir = tempfile.mkdtemp(prefix="sdfs-")
        self.mnt = os.path.join(self.dir, "mnt")
        self.state = state or os.path.join(self.dir, "state")
        os.mkdir(self.mnt)
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.check_exit = True
        opts = ",".join([f"api_url={sim.url}", f"state_dir={self.state}",
                         "poll_interval=0.2", *options])
        env = dict(os.environ)
        if env_key:
            env["SEEDANCE_API_KEY"] = KEY
        wrapper = os.environ.get("SEEDANCEFS_WRAPPER", "").split()
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [*wrapper, os.path.join(BUILD, "seedancefs"), self.mnt, "-f", "-o", opts],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
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

    def unmount(self):
        if not os.path.isdir(self.dir):
            return                          # unmounted before
        if os.path.ismount(self.mnt):
            if subprocess.run(["fusermount3", "-u", self.mnt]).returncode:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt])
        try:
            self.returncode = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
        self.log.close()
        if os.environ.get("SEEDANCEFS_KEEP_LOGS") or (self.returncode and self.check_exit):
            print(f"--- daemon log of {self.mnt} (exit status {self.returncode}) ---")
            print(self.read_log())
        shutil.rmtree(self.dir, ignore_errors=True)

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
