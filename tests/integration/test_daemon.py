"""Running as a daemon (no -f), the way users and fstab lines start it:
detaching, a relative state_dir, SIGHUP, threads that cannot start, and an
unmount in the middle of a slow download.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, FIXTURE, KEY, Mount, pid_alive, wait_until

FOX = {"prompt": "a fox in snow", "duration": 5}


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_daemon_with_a_relative_state_dir_serves_its_cache_across_a_restart(sim):
    # `seedancefs mnt -o state_dir=state` from some directory: the daemon
    # works in /, so the path must have been made absolute before it went.
    m = Mount(sim, foreground=False, state="state")
    try:
        # The command returned: the mount is up (the ready pipe), not racing it.
        assert m.startup.returncode == 0 and os.path.ismount(m.mnt)
        assert m.submit("fox.json", FOX).returncode == 0
        m.wait_status("fox", want=("succeeded",))
        with open(FIXTURE, "rb") as f:
            want = f.read()
        assert read_bytes(m.path("by-name", "fox", "video.mp4")) == want
        wait_until(lambda: "complete" in m.read_log(), what="the download to finish")
        task_id = os.path.basename(os.readlink(m.task_dir("fox")))
        cached = os.path.join(m.dir, "state", "videos", task_id + ".mp4")
        assert read_bytes(cached) == want
        m.stop(keep=True)

        # Restarted from the same directory: the video comes from the cache.
        sim.control(content_off=True)
        m = Mount(sim, foreground=False, state="state", dir=m.dir)
        assert m.status("fox") == "succeeded\n"
        assert read_bytes(m.path("by-name", "fox", "video.mp4")) == want
    finally:
        m.stop()


def test_sighup_reopens_the_log_and_keeps_the_mount(sim):
    m = Mount(sim, foreground=False)
    try:
        rotated = m.log_path + ".1"
        os.rename(m.log_path, rotated)            # what logrotate does
        os.kill(m.pid, signal.SIGHUP)
        assert m.submit("owl.json", {"prompt": "an owl"}).returncode == 0
        wait_until(lambda: os.path.exists(m.log_path) and "submit owl" in m.read_log(),
                   what="the new log file")
        assert os.path.ismount(m.mnt) and pid_alive(m.pid)
        assert "submit owl" not in read_bytes(rotated).decode()
        assert m.status("owl") in ("queued\n", "running\n", "succeeded\n")
    finally:
        m.stop()


def pids_cgroup(tmp_name):
    """A pids cgroup (v2 or v1) this test may create, or None."""
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"):
        path = os.path.join(root, tmp_name)
        try:
            os.mkdir(path)
        except OSError:
            continue
        if os.path.exists(os.path.join(path, "pids.max")):
            return path
        os.rmdir(path)
    return None


@pytest.mark.parametrize("foreground", [True, False])
def test_the_mount_fails_when_its_threads_cannot_start(sim, tmp_path, foreground):
    # Without the submitter, close() would accept requests nobody sends.
    if os.geteuid() != 0:
        pytest.skip("needs root to create a pids cgroup")
    cg = pids_cgroup(f"seedancefs-test-{os.getpid()}")
    if not cg:
        pytest.skip("no pids cgroup controller to limit thread creation")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        with open(os.path.join(cg, "pids.max"), "w") as f:
            f.write("6")                # the loop and the notifier start; not all workers
        env = dict(os.environ, SEEDANCE_API_KEY=KEY)
        args = [os.path.join(BUILD, "seedancefs"), str(mnt),
                "-o", f"api_url={sim.url},state_dir={tmp_path / 'state'}"]
        if foreground:
            args.insert(2, "-f")
        p = subprocess.run(["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh",
                            *args], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 1, p.stderr
        # Ours ("cannot start the ... threads") or libfuse's, when its loop
        # is the one that could not start a thread: a reason, on the terminal.
        assert "cannot start" in p.stderr or "fuse:" in p.stderr, p.stderr
        assert not os.path.ismount(mnt)
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
        wait_until(lambda: not open(os.path.join(cg, "cgroup.procs")).read().strip(),
                   what="the cgroup to empty")
        os.rmdir(cg)


def test_unmount_during_a_slow_download_ends_the_daemon_promptly(start_sim, start_mount):
    # A server that trickles (2 KB/s, above curl's stall limit): stop means
    # abort, not "drain the range for connection reuse" (minutes here).
    sim = start_sim()
    sim.control(content_bps=2000)
    m = start_mount(sim)
    assert m.submit("slow.json", FOX).returncode == 0
    m.wait_status("slow", want=("succeeded",))
    # The background download of our own video is under way: bytes flow.
    wait_until(lambda: sim.stats()["bytes_served"] > 4096, what="the download to start")
    started = time.monotonic()
    subprocess.run(["fusermount3", "-u", m.mnt], check=True)
    m.proc.wait(timeout=120)
    took = time.monotonic() - started
    print(f"daemon exit {took:.2f} s after fusermount3 -u")
    # Within curl's progress callback (about a second) plus joining; the
    # drain of the range at 2 KB/s took minutes.
    assert took < 5, f"the daemon took {took:.1f} s to exit"
