"""Replies that are not the API's never decide anything: a proxy's HTML 404
does not expire a task nor confirm a delete."""
import errno
import os

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
