"""Replies that are not the API's never decide anything: a proxy's HTML 404
does not expire a task nor confirm a delete."""
import errno
import os
import re

import pytest

from conftest import FIXTURE, create_elsewhere, wait_until


def test_a_proxys_html_404_neither_expires_nor_deletes_a_task(start_sim, start_mount):
    sim = start_sim("--queue-ms", "600000", "--run-ms", "1000")     # stays queued
    mount = start_mount(sim)
    assert mount.submit("fox.json", {"prompt": "a fox"}).returncode == 0
    task_dir = os.path.realpath(mount.path("by-name", "fox"))
    task_id = os.path.basename(task_dir)
    wait_until(lambda: mount.status("fox") == "queued\n", what="queued")
    sim.control(html_404=True)
    polls = sim.stats()["gets"]
    wait_until(lambda: sim.stats()["gets"] >= polls + 3, what="polls answered by the proxy")
    assert mount.status("fox") == "queued\n"            # not "expired"
    assert not os.path.exists(os.path.join(task_dir, "error"))
    with pytest.raises(OSError) as e:
        os.rmdir(task_dir)                              # the delete is not confirmed
    assert e.value.errno != errno.ENOENT
    assert os.path.isdir(task_dir)
    assert any(t["id"] == task_id for t in sim.tasks())
    sim.control(html_404=False)
    assert mount.status("fox") == "queued\n"


def test_a_retry_after_of_a_day_does_not_stop_the_mount_for_a_day(sim, start_mount):
    mount = start_mount(sim)
    sim.control(create_429=1, retry_after=86400)   # the create, not an import look
    assert mount.submit("later.json", {"prompt": "soon"}).returncode == 0
    reason = mount.path("pending", "later", "reason")
    wait_until(lambda: "retry in" in open(reason).read(), what="the 429 noted")
    text = open(reason).read()
    retry_in = float(re.search(r"retry in ([0-9.]+) s", text).group(1))
    assert retry_in <= 300 * 1.25, text                # capped, jitter included
    assert "Retry-After 86400 s; waiting 300 s at most" in mount.read_log()
    assert len(os.listdir(mount.path("tasks"))) == 0     # and ls answers meanwhile


def one_clean_line(text):
    """What a file or log line may hold of a server's words: one line of
    valid UTF-8 without control characters, bounded."""
    return ("\n" not in text.rstrip("\n") and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
            and len(text.encode()) <= 1100)


def test_escapes_forged_lines_and_megabytes_in_an_error_message_reach_no_file(sim, start_mount):
    sim.control(hostile_text=True)
    mount = start_mount(sim)
    assert mount.submit("owl.json", {"prompt": "an owl #fail"}).returncode == 0
    assert mount.wait_status("owl") == "failed\n"
    with open(os.path.join(mount.task_dir("owl"), "error"), "rb") as f:
        error = f.read().decode("utf-8")                # valid UTF-8, or this raises
    assert error.startswith("OutputVideoSensitiveContentDetected"), error
    assert one_clean_line(error) and "FAKE: forged line" in error, repr(error)
    assert error.rstrip("\n").endswith("..."), error    # 6 KB cut to about 1 KB
    log = mount.read_log()
    assert "\x1b" not in log and not re.search(r"^FAKE", log, re.M)


def imported_and_sized(start_sim, start_mount, *options):
    """A mount of a task made elsewhere, succeeded and its video sized
    (nothing cached): (sim, mount, the video's path)."""
    sim = start_sim("--queue-ms", "0", "--run-ms", "0")
    task = create_elsewhere(sim, "made elsewhere")
    wait_until(lambda: sim.tasks()[0]["status"] == "succeeded", what="succeeded elsewhere")
    mount = start_mount(sim, *options)
    status = mount.path("tasks", task, "status")
    wait_until(lambda: os.path.exists(status) and open(status).read() == "succeeded\n",
               what="imported, succeeded")
    video = mount.path("tasks", task, "video.mp4")
    assert os.stat(video).st_size == os.path.getsize(FIXTURE)
    return sim, mount, video


def whole_or_none(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def read_error(path):
    with pytest.raises(OSError) as e:
        with open(path, "rb") as f:
            f.read(65536)
    return e.value.errno


def test_a_read_waits_for_its_bytes_at_most_read_timeout(start_sim, start_mount):
    """A server that stalls every content request (2.5 s of silence, then a
    reset; the fetch would try three times, 8.5 s): the read ends at read_timeout."""
    sim, mount, video = imported_and_sized(start_sim, start_mount, "read_timeout=2")
    sim.control(fault="stall", fault_ops="content")
    assert read_error(video) == errno.EIO
    assert "did not come within read_timeout=2 s" in mount.read_log()
    sim.control(fault="")
    # A fetch still in its stall may time out a read or two more.
    wait_until(lambda: whole_or_none(video) == open(FIXTURE, "rb").read(), timeout=60,
               what="the video read whole once the server answers")


def test_a_flood_of_interim_responses_ends_the_request(start_sim, start_mount):
    """102 Processing every millisecond for 20 s keeps curl's low-speed
    clock happy: the request is ended after a few, not left to the flood."""
    sim, mount, video = imported_and_sized(start_sim, start_mount)
    sim.control(fault="interim_flood", fault_ops="content")
    assert read_error(video) == errno.EIO
    log = mount.read_log()
    assert "more than 16 interim (1xx) responses" in log
    assert "read_timeout" not in log                 # ended by the bound, not the wait
    sim.control(fault="")
    assert open(video, "rb").read() == open(FIXTURE, "rb").read()


def version_bytes(n, extra=0):
    """The simulator's version n of the fixture (sim-video.h)."""
    data = bytearray(open(FIXTURE, "rb").read())
    if n:
        for i in range(0, len(data), 4096):
            data[i] ^= n & 0xff or 1
    return bytes(data) + bytes(extra)


def test_a_file_changed_at_the_server_is_fetched_again_whole_never_mixed(start_sim, start_mount):
    """Part of a video is cached; then the file changes at the server,
    with the same size (only its ETag tells: the daemon's If-Range gets the
    new file whole) for one task, with another size for the other. Every
    read that succeeds returns one version whole; in the end the new one.
    (A video cached whole is final: it is not asked for again.)"""
    sim = start_sim("--queue-ms", "0", "--run-ms", "0")
    tasks = [create_elsewhere(sim, f"made elsewhere {i}") for i in range(2)]
    wait_until(lambda: all(t["status"] == "succeeded" for t in sim.tasks()), what="succeeded")
    mount = start_mount(sim)
    videos = [mount.path("tasks", t, "video.mp4") for t in tasks]
    wait_until(lambda: all(os.path.exists(v) for v in videos), what="imported")
    for v in videos:
        with open(v, "rb") as f:
            assert f.read(65536) == version_bytes(0)[:65536]
        # Part of it cached (a video cached whole is never asked for again).
        assert 0 < int(os.getxattr(v, "user.seedance.cached_bytes")) < len(version_bytes(0))
    for video, n, extra in ((videos[0], 1, 0), (videos[1], 2, 5000)):
        old, new = version_bytes(0), version_bytes(n, extra)
        sim.control(video_version=n, video_extra=extra)
        seen = []

        def read_new():
            data = whole_or_none(video)
            if data is not None:
                seen.append(data)
            return data == new
        wait_until(read_new, timeout=30, what=f"version {n} read whole")
        assert all(d in (old, new) for d in seen), [len(d) for d in seen]   # never a mix
        assert os.path.getsize(video) == len(new)
    log = mount.read_log()
    assert log.count("another version at the server") == 2, log
