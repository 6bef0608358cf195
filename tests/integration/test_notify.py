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


def parked(pid):
    """True when process `pid` is blocked in a FUSE request the daemon has
    not answered (a `wait` or `events` read parked in the daemon)."""
    try:
        return read(f"/proc/{pid}/wchan") == "request_wait_answer"
    except OSError:
        return False


def wait_parked(*procs):
    wait_until(lambda: all(parked(p.pid) for p in procs), what="the reads to be parked")


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
    wait_parked(p)
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
        wait_parked(p)
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


def test_reads_interrupted_and_closed_while_tasks_change_leave_the_daemon_sound(start_sim,
                                                                              start_mount):
    # Ctrl-C on `cat wait` / `cat events` answers EINTR; the process then
    # closes the file while worker threads are answering parked reads. Under
    # ASan (make asan) a wake-up that touched the closed file would be caught;
    # here the daemon must stay up and exit 0.
    sim = start_sim("--queue-ms", "150", "--run-ms", "150")
    mount = start_mount(sim)
    assert mount.submit("long.json", {"prompt": "stays queued"}).returncode == 0
    sim.control(queue_ms=60000)
    assert mount.submit("held.json", {"prompt": "held"}).returncode == 0
    sim.control(queue_ms=150)
    for r in range(25):
        readers = [subprocess.Popen(["cat", mount.path(*path)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
                   for path in [("events",)] * 6 + [("by-name", "held", "wait")] * 3]
        wait_parked(*readers)
        # Changes keep coming while the reads are interrupted and closed.
        assert mount.submit(f"r{r}.json", {"prompt": f"round {r}"}).returncode == 0
        for p in readers:
            p.send_signal(signal.SIGINT)
        for p in readers:
            assert p.wait(timeout=10) != 0      # died of the signal, not stuck
    assert os.path.ismount(mount.mnt)
    assert read(mount.path("by-name", "held", "status")) == "queued\n"
    mount.wait_status("r24", want=("succeeded",))


def test_sigterm_with_reads_parked_while_tasks_finish(start_sim, start_mount):
    # The session's last sweep answers every parked read; one re-parked by a
    # wake-up after it is answered too, not left behind (ASan's leak check).
    sim = start_sim("--queue-ms", "100", "--run-ms", "100")
    mount = start_mount(sim)
    for i in range(8):
        assert mount.submit(f"u{i}.json", {"prompt": f"stop {i}"}).returncode == 0
    readers = [subprocess.Popen(["cat", mount.path("events")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(8)]
    sim.control(queue_ms=60000)
    for i in range(8):
        assert mount.submit(f"q{i}.json", {"prompt": f"queued {i}"}).returncode == 0
        readers.append(subprocess.Popen(["cat", mount.path("by-name", f"q{i}", "wait")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        wait_parked(*readers)
        mount.proc.send_signal(signal.SIGTERM)  # systemctl stop
        for p in readers:
            assert p.wait(timeout=30) != 0      # answered (EINTR), not left hanging
        assert mount.proc.wait(timeout=30) == 0
    finally:
        for p in readers:
            p.kill()
            p.wait()


def test_more_than_64_pollers_of_events_all_wake(mount):
    # One poll() per open events file, each in its own thread: every one is
    # told of the first line, not just the first 64.
    n = 80
    fds = [os.open(mount.path("events"), os.O_RDONLY | os.O_NONBLOCK) for _ in range(n)]
    woken = []
    lock = threading.Lock()

    def poll_one(fd):
        # At its timeout the kernel asks the daemon once more and poll()
        # reports the line anyway: woken means "returned before timing out".
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + 15
        if poller.poll(20_000) and time.monotonic() < deadline:
            with lock:
                woken.append(fd)

    threads = [threading.Thread(target=poll_one, args=(fd,)) for fd in fds]
    try:
        for t in threads:
            t.start()
        assert mount.submit("many.json", {"prompt": "eighty pollers"}).returncode == 0
        for t in threads:
            t.join(timeout=30)
        assert len(woken) == n, f"{n - len(woken)} of {n} pollers were never woken"
    finally:
        for fd in fds:
            os.close(fd)
