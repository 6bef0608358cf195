"""Tasks made elsewhere cost the gateway nothing until someone looks at
their video: they show the API's status at once, a video's size is learned
by one request when video.mp4 is first looked up (and remembered), and a
video the provider dropped is said so instead of failing every read."""
import errno
import os
import signal
import subprocess

import pytest

from conftest import create_elsewhere, wait_until

STATUS_FINAL = "succeeded\n"


def fetches(sim):
    s = sim.stats()
    return s["content_requests"] + s["cdn_requests"]


def imported(sim, start_mount, n, **kw):
    """`n` succeeded tasks made by another client, then a mount that has
    imported them all: (mount, ids)."""
    ids = [create_elsewhere(sim, f"elsewhere {i}") for i in range(n)]
    wait_until(lambda: all(t["status"] == "succeeded" for t in sim.tasks()),
               what="tasks succeeded at the simulator")
    mount = start_mount(sim, **kw)
    wait_until(lambda: set(ids) <= set(os.listdir(mount.path("tasks"))), what="import")
    return mount, ids


def read(path):
    with open(path) as f:
        return f.read()


@pytest.fixture
def quick_sim(start_sim):
    return start_sim("--queue-ms", "0", "--run-ms", "0")


def test_imported_tasks_show_succeeded_at_once_and_fetch_nothing(quick_sim, start_mount):
    sim = quick_sim
    before = fetches(sim)
    mount, ids = imported(sim, start_mount, 5)
    for task_id in ids:
        assert read(mount.path("tasks", task_id, "status")) == STATUS_FINAL
        assert "video.mp4" in os.listdir(mount.path("tasks", task_id))
    # Listed, statused, but nobody looked at a video: not one content request.
    assert fetches(sim) == before
    assert os.listdir(mount.path("by-name")) == []


def test_video_size_is_learned_at_first_lookup_and_remembered(quick_sim, start_mount,
                                                              state_dir):
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 3, state=state_dir)
    size = sim.stats()["video_size"]
    before = sim.stats()["content_requests"]
    video = mount.path("tasks", ids[0], "video.mp4")
    assert os.stat(video).st_size == size           # the lookup waits for the probe
    assert sim.stats()["content_requests"] == before + 1
    os.stat(video)
    with open(video, "rb") as f:
        assert f.read(8)[4:] == b"ftyp"
    mount.stop(keep=True)

    mount = start_mount(sim, state=state_dir)
    probes = sim.stats()["content_requests"]
    assert os.stat(mount.path("tasks", ids[0], "video.mp4")).st_size == size
    assert sim.stats()["content_requests"] == probes  # remembered in the store
    # The other two were never looked at and still cost nothing.
    assert read(mount.path("tasks", ids[1], "status")) == STATUS_FINAL
    assert sim.stats()["content_requests"] == probes


def test_a_video_the_provider_dropped_is_said_so_and_absent(quick_sim, start_mount,
                                                            state_dir):
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 1, state=state_dir)
    task_dir = mount.path("tasks", ids[0])
    sim.control(content_gone=True)
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(task_dir, "video.mp4"))
    why = read(os.path.join(task_dir, "video_error"))
    assert "no longer" in why and why.endswith("\n")
    assert read(os.path.join(task_dir, "status")) == STATUS_FINAL
    assert "video.mp4" not in os.listdir(task_dir)
    probes = fetches(sim)
    with pytest.raises(FileNotFoundError):
        open(os.path.join(task_dir, "video.mp4"), "rb")
    assert fetches(sim) == probes                   # known gone: nothing asked
    mount.stop(keep=True)

    mount = start_mount(sim, state=state_dir)
    assert read(mount.path("tasks", ids[0], "video_error")) == why   # durable
    assert not os.path.exists(mount.path("tasks", ids[0], "video.mp4"))
    assert fetches(sim) == probes


def test_a_task_removed_while_an_import_look_is_in_flight_stays_removed(quick_sim, start_mount,
                                                                      state_dir):
    """A list reply built before an rmdir and received after it still holds
    the task: it must not bring the task back."""
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 1, state=state_dir)
    mount.stop(keep=True)
    sim.control(list_hold=True)
    mount = start_mount(sim, state=state_dir)          # the task from the store
    wait_until(lambda: sim.stats()["list_held"] == 1, what="the import look in flight")
    os.rmdir(mount.path("tasks", ids[0]))
    sim.control(list_hold=False)
    # Looks and POSTs share the outbox's thread: a POST sent means the look ended.
    assert mount.submit("after.json", {"prompt": "after the look"}).returncode == 0
    wait_until(lambda: len(sim.tasks()) == 2, what="the next POST")
    assert ids[0] not in os.listdir(mount.path("tasks"))


def test_a_read_that_finds_the_video_gone_says_so(quick_sim, start_mount):
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 1)
    task_dir = mount.path("tasks", ids[0])
    video = os.path.join(task_dir, "video.mp4")
    with open(video, "rb") as f:
        sim.control(content_gone=True)
        with pytest.raises(OSError) as e:
            f.read(1 << 20)
        assert e.value.errno == errno.EIO
    assert "no longer" in read(os.path.join(task_dir, "video_error"))
    wait_until(lambda: not os.path.exists(video), what="video.mp4 gone")
    assert read(os.path.join(task_dir, "status")) == STATUS_FINAL


def test_failed_size_probes_are_capped(quick_sim, start_mount):
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 1)
    video = mount.path("tasks", ids[0], "video.mp4")
    sim.control(content_off=True)                   # 502 from the content endpoint
    errors = []
    for _ in range(5):
        try:
            os.stat(video)
        except OSError as e:
            errors.append(e.errno)
    assert errors[:2] == [errno.EIO, errno.EIO]     # each look tries once more ...
    assert errors[2:] == [errno.ENOENT] * 3         # ... until it gives up for this mount
    why = read(mount.path("tasks", ids[0], "video_error"))
    assert "3 attempts" in why and "new mount" in why
    log = mount.read_log()
    assert log.count(f"video {ids[0]}:") == 3


def parked(pid):
    """True when `pid` is blocked in a FUSE request the daemon has not answered."""
    try:
        return read(f"/proc/{pid}/wchan") == "request_wait_answer"
    except OSError:
        return False


def test_lookups_waiting_for_a_size_hold_no_fuse_thread(quick_sim, start_mount):
    """More lookups of unsized videos than libfuse has threads, with the
    gateway holding its answer: they are parked, the rest of the mount
    answers, Ctrl-C ends one at once, and the others get their size. (Other
    lookups in a parked task's own directory wait too: Debian's libfuse 3.14
    does not negotiate parallel directory operations, so the kernel
    serialises lookups per directory.)"""
    sim = quick_sim
    mount, ids = imported(sim, start_mount, 13)
    sim.control(content_hold=True)
    try:
        stats = [subprocess.Popen(["stat", "-c", "%s", mount.path("tasks", t, "video.mp4")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for t in ids[:12]]
        wait_until(lambda: all(parked(p.pid) for p in stats), what="lookups parked")
        wait_until(lambda: sim.stats()["content_held"] == 1, what="the first probe held")
        assert sim.stats()["content_requests"] == 1     # one probe at a time, on the sizer
        assert read(mount.path("tasks", ids[12], "status")) == STATUS_FINAL
        assert len(os.listdir(mount.path("tasks"))) == 13
        stats[5].send_signal(signal.SIGINT)
        assert stats[5].wait(timeout=10) != 0       # interrupted, not stuck
    finally:
        sim.control(content_hold=False)
    size = str(sim.stats()["video_size"])
    for i, p in enumerate(stats):
        if i != 5:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0 and out.strip() == size, err


def test_max_tasks_bounds_imports_and_new_requests(quick_sim, start_mount):
    """The mount holds at most max_tasks tasks: imports stop there (said
    once in the log), a new request's close() fails with EDQUOT and says
    why, and room made with rmdir takes the request."""
    sim = quick_sim
    for i in range(4):
        create_elsewhere(sim, f"elsewhere {i}")
    wait_until(lambda: all(t["status"] == "succeeded" for t in sim.tasks()), what="succeeded")
    mount = start_mount(sim, "max_tasks=3")
    wait_until(lambda: "max_tasks=3" in mount.read_log(), what="the bound said")
    held = os.listdir(mount.path("tasks"))
    assert len(held) == 3
    assert mount.read_log().count("older tasks made elsewhere are not shown") == 1
    r = mount.submit("one-more.json", {"prompt": "one more"})
    assert r.returncode != 0 and "quota" in r.stderr.lower(), r.stderr       # EDQUOT
    error = read(mount.path("requests", "one-more.error"))
    assert "max_tasks=3" in error and "rmdir" in error, error
    assert len(sim.tasks()) == 4                                # nothing was sent
    # Room for two: the fourth task may be imported into one of them.
    os.rmdir(mount.path("tasks", held[0]))
    os.rmdir(mount.path("tasks", held[1]))
    assert mount.submit("one-more.json", {"prompt": "one more"}).returncode == 0
    assert mount.wait_status("one-more") == "succeeded\n"
