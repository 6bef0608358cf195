"""wait, events and kernel-cache freshness: what automation relies on."""
import errno
import os
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import wait_until


def read(path):
    with open(path) as f:
        return f.read()


def test_wait_returns_the_final_status_for_success_failure_and_cancel(start_sim, start_mount):
    sim = start_sim("--queue-ms", "1500", "--run-ms", "1000")
    mount = start_mount(sim)
    assert mount.submit("ok.json", {"prompt": "fine"}).returncode == 0
    assert mount.submit("bad.json", {"prompt": "bad #fail"}).returncode == 0
    assert mount.submit("stop.json", {"prompt": "cancel me"}).returncode == 0
    results = {}

    def waiter(name):
        results[name] = subprocess.run(["cat", mount.path("by-name", name, "wait")],
                                       capture_output=True, text=True, timeout=60).stdout
    threads = [threading.Thread(target=waiter, args=(n,)) for n in ("ok", "bad", "stop")]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert not results                          # all three still waiting
    os.rmdir(os.path.realpath(mount.path("by-name", "stop")))
    for t in threads:
        t.join(timeout=60)
    assert results == {"ok": "succeeded\n", "bad": "failed\n", "stop": "cancelled\n"}
    # A finished task answers at once.
    assert read(mount.path("by-name", "ok", "wait")) == "succeeded\n"


def test_many_waiters_do_not_starve_other_operations(start_sim, start_mount):
    sim = start_sim("--queue-ms", "60000")
    mount = start_mount(sim)
    assert mount.submit("slow.json", {"prompt": "a long queue"}).returncode == 0
    waiters = [subprocess.Popen(["cat", mount.path("by-name", "slow", "wait")],
                                stdout=subprocess.PIPE) for _ in range(100)]
    try:
        time.sleep(0.5)
        assert all(w.poll() is None for w in waiters)
        # More waiters than FUSE threads, and the mount still answers.
        assert mount.status("slow") == "queued\n"
        assert mount.submit("other.json", {"prompt": "still works"}).returncode == 0
        assert sorted(os.listdir(mount.path("by-name"))) == ["other", "slow"]
    finally:
        for w in waiters:
            w.kill()
            w.wait()


def test_ctrl_c_interrupts_a_wait(start_sim, start_mount):
    sim = start_sim("--queue-ms", "60000")
    mount = start_mount(sim)
    assert mount.submit("long.json", {"prompt": "forever"}).returncode == 0
    p = subprocess.Popen(["cat", mount.path("by-name", "long", "wait")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) != 0              # cat died of the signal, not stuck


def test_events_stream_lines_and_poll_wakes(mount):
    fd = os.open(mount.path("events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError) as e:
            os.read(fd, 4096)
        assert e.value.errno == errno.EAGAIN    # nothing yet
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poller.poll(0) == []
        assert mount.submit("ev.json", {"prompt": "events please"}).returncode == 0
        assert poller.poll(10_000) != []        # woken by the first change
        lines = []
        deadline = time.monotonic() + 20
        while not any(l.endswith("running succeeded") for l in lines):
            assert time.monotonic() < deadline
            if poller.poll(10_000):
                lines += os.read(fd, 65536).decode().splitlines()
        task_id = os.readlink(mount.path("by-name", "ev")).split("/")[-1]
        fields = [l.split() for l in lines]
        assert [f[1:] for f in fields] == [[task_id, "ev", "-", "queued"],
                                           [task_id, "ev", "queued", "running"],
                                           [task_id, "ev", "running", "succeeded"]]
        assert all(f[0].endswith("Z") for f in fields)
    finally:
        os.close(fd)


def test_blocking_read_loop_on_events(mount):
    p = subprocess.Popen(["sh", "-c", f"while read t id name old new; do echo $name $new; "
                                      f"[ $new = succeeded ] && break; done < {mount.path('events')}"],
                         stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        assert mount.submit("loop.json", {"prompt": "read loop"}).returncode == 0
        out, _ = p.communicate(timeout=30)
        assert out.split("\n")[-2] == "loop succeeded"
    finally:
        p.kill()
        p.wait()


def test_cat_status_right_after_a_change_never_shows_the_old_word(mount):
    assert mount.submit("fresh.json", {"prompt": "watch closely"}).returncode == 0
    status = mount.path("by-name", "fresh", "status")
    events = open(mount.path("events"))
    try:
        seen = []
        for line in events:
            t, task_id, name, old, new = line.split()
            if name != "fresh":
                continue
            # The moment the event is out, every view agrees with it.
            assert read(status) == new + "\n"
            assert os.stat(status).st_size == len(new) + 1
            seen.append(new)
            if new == "succeeded":
                break
        assert "video.mp4" in os.listdir(mount.path("by-name", "fresh"))
    finally:
        events.close()


def test_wait_follows_a_pending_request_until_its_task_finishes(mount, sim):
    sim.control(api_down=True)
    assert mount.submit("later.json", {"prompt": "sent after the outage"}).returncode == 0
    assert os.readlink(mount.path("by-name", "later")) == "../pending/later"
    p = subprocess.Popen(["cat", mount.path("by-name", "later", "wait")], stdout=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(0.5)
        assert p.poll() is None
        sim.control(api_down=False)
        out, _ = p.communicate(timeout=60)
        assert out == "succeeded\n"
    finally:
        p.kill()
        p.wait()
