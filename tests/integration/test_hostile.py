"""Replies that are not the API's never decide anything: a proxy's HTML 404
does not expire a task nor confirm a delete."""
import errno
import os
import re

import pytest

from conftest import wait_until


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
    sim.control(api_429=1, retry_after=86400)
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
