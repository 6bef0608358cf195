"""export_dir: finished videos appear in a local folder, renamed into
place (one IN_MOVED_TO each), exactly once across kill -9 and remounts."""
import os
import random
import sqlite3
import shutil
import subprocess
import time

import pytest

from conftest import FIXTURE, wait_until

pytestmark = pytest.mark.skipif(not shutil.which("inotifywait"), reason="needs inotify-tools")


class Watch:
    """inotifywait -m on a folder: every event, as 'EVENT NAME' lines."""

    def __init__(self, folder, log):
        self.log = log
        self.out = open(log, "w")
        self.proc = subprocess.Popen(
            ["inotifywait", "-m", "-e", "moved_to,close_write,create", "--format", "%e %f",
             folder], stdout=self.out, stderr=subprocess.PIPE, text=True)
        # "Watches established." on stderr: from then on nothing is missed.
        while "Watches established" not in self.proc.stderr.readline():
            assert self.proc.poll() is None, "inotifywait did not start"

    def events(self):
        with open(self.log) as f:
            return [tuple(line.split(" ", 1)) for line in f.read().splitlines()]

    def moved(self):
        return [name for event, name in self.events() if event == "MOVED_TO"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stderr.close()
        self.out.close()


@pytest.fixture
def watch(tmp_path):
    watches = []

    def start(folder):
        w = Watch(str(folder), str(tmp_path / f"inotify-{len(watches)}.log"))
        watches.append(w)
        return w
    yield start
    for w in watches:
        w.stop()


def fixture_bytes():
    with open(FIXTURE, "rb") as f:
        return f.read()


def test_each_finished_task_appears_once_renamed_into_place(sim, start_mount, tmp_path, watch):
    out = tmp_path / "videos"
    out.mkdir()
    w = watch(out)
    m = start_mount(sim, f"export_dir={out}")
    for name, prompt in (("fox", "a fox"), ("owl", "an owl"), ("bad", "broken #fail")):
        assert m.submit(f"{name}.json", {"prompt": prompt}).returncode == 0
    wait_until(lambda: sorted(w.moved()) == ["bad.failed", "fox.mp4", "owl.mp4"], timeout=30,
               what="three exports")
    for name in ("fox", "owl"):
        assert (out / f"{name}.mp4").read_bytes() == fixture_bytes()
        st = os.stat(out / f"{name}.mp4")
        assert st.st_nlink == 2 and st.st_mode & 0o777 == 0o444  # the cache's file, read-only
    assert (out / "bad.failed").read_text().startswith("failed\n")
    # Nothing was ever written under a final name: only renamed onto it.
    finals = {"fox.mp4", "owl.mp4", "bad.failed"}
    assert not [e for e in w.events() if e[1] in finals and e[0] != "MOVED_TO"], w.events()
    assert sorted(os.listdir(out)) == sorted(finals)            # no temporary file left
    # rmdir of the task (and so the cache file) leaves the export intact.
    tid = os.path.basename(os.readlink(m.task_dir("fox")))
    inode = os.stat(out / "fox.mp4").st_ino
    os.rmdir(m.path("tasks", tid))
    assert (out / "fox.mp4").read_bytes() == fixture_bytes()
    # A new task of the same name never replaces it: it gets NAME.<id>.
    os.unlink(m.path("requests", "fox.json"))
    assert m.submit("fox.json", {"prompt": "a second fox"}).returncode == 0
    tid2 = os.path.basename(os.readlink(m.task_dir("fox")))
    wait_until(lambda: f"fox.{tid2}.mp4" in w.moved(), what="the second fox")
    assert os.stat(out / "fox.mp4").st_ino == inode and w.moved().count("fox.mp4") == 1


def test_a_copy_when_export_dir_is_on_another_file_system(sim, start_mount, watch):
    if os.stat("/dev/shm").st_dev == os.stat("/tmp").st_dev:
        pytest.skip("/dev/shm and /tmp are one file system here")
    out = "/dev/shm/sdfs-export-" + str(os.getpid())
    os.makedirs(out)
    try:
        w = watch(out)
        m = start_mount(sim, f"export_dir={out}", "export_by=id")
        assert m.submit("copy.json", {"prompt": "copied"}).returncode == 0
        tid = os.path.basename(os.readlink(m.task_dir("copy")))
        wait_until(lambda: w.moved() == [f"{tid}.mp4"], what="the export")
        with open(os.path.join(out, f"{tid}.mp4"), "rb") as f:
            assert f.read() == fixture_bytes()
        st = os.stat(os.path.join(out, f"{tid}.mp4"))
        assert st.st_nlink == 1 and st.st_mode & 0o777 == 0o444
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_exactly_once_across_kill_9_and_remounts(sim, start_mount, tmp_path, watch, state_dir):
    out = tmp_path / "videos"
    out.mkdir()
    w = watch(out)
    rng = random.Random(7)
    names = []
    for round in range(5):
        m = start_mount(sim, f"export_dir={out}", state=state_dir)
        for i in range(3):
            name = f"r{round}n{i}"
            names.append(name)
            assert m.submit(f"{name}.json", {"prompt": f"round {round} #{i}"}).returncode == 0
        # kill -9 at a moment somewhere in the exports of this round
        wait_until(lambda: len(w.moved()) >= len(names) - 3 + rng.randint(0, 2), timeout=30,
                   what="some exports of this round")
        m.kill9()
    m = start_mount(sim, f"export_dir={out}", state=state_dir)
    want = sorted(f"{n}.mp4" for n in names)
    wait_until(lambda: sorted(set(w.moved())) == want, timeout=60, what="every export")
    moved = w.moved()
    assert sorted(moved) == want, f"duplicated: {[n for n in set(moved) if moved.count(n) > 1]}"
    for n in names:
        assert (out / f"{n}.mp4").read_bytes() == fixture_bytes(), n
    assert not [f for f in os.listdir(out) if f.startswith(".")]


def test_tasks_finished_before_export_dir_was_set_are_not_exported(sim, start_mount, tmp_path,
                                                                   state_dir):
    m = start_mount(sim, state=state_dir)
    assert m.submit("old.json", {"prompt": "before"}).returncode == 0
    m.wait_status("old")
    m.stop(keep=True)
    out = tmp_path / "videos"
    m = start_mount(sim, f"export_dir={out}", state=state_dir, dir=m.dir)
    assert m.submit("new.json", {"prompt": "after"}).returncode == 0
    wait_until(lambda: (out / "new.mp4").exists(), what="the new export")
    assert sorted(os.listdir(out)) == ["new.mp4"]
    assert "not exported" in m.read_log()


def test_a_restart_finishes_the_renames_a_crash_cut_short(sim, start_mount, tmp_path, watch,
                                                         state_dir):
    """The crash window between "renaming" and "done": the row says
    renaming and the temporary file is still there (as if kill -9 came
    right after the commit). The restart renames it under the stored name,
    even with another export_by, and the watcher sees it once."""
    out = tmp_path / "videos"
    out.mkdir()
    m = start_mount(sim, f"export_dir={out}", state=state_dir)
    assert m.submit("cut.json", {"prompt": "cut short"}).returncode == 0
    wait_until(lambda: (out / "cut.mp4").exists(), what="the export")
    tid = os.path.basename(os.readlink(m.task_dir("cut")))
    m.stop(keep=True)
    os.rename(out / "cut.mp4", out / ".cut.mp4.tmp")
    db = sqlite3.connect(os.path.join(state_dir, "state.db"))
    with db:
        db.execute("UPDATE exports SET state = 'renaming' WHERE id = ?", (tid,))
    db.close()
    w = watch(out)
    m = start_mount(sim, f"export_dir={out}", "export_by=id", state=state_dir, dir=m.dir)
    wait_until(lambda: w.moved() == ["cut.mp4"], what="the rename after the restart")
    assert (out / "cut.mp4").read_bytes() == fixture_bytes()
    assert sorted(os.listdir(out)) == ["cut.mp4"]


def test_the_cache_never_writes_into_an_exported_file(sim, start_mount, tmp_path, state_dir):
    """With the cache map lost (kill -9 before it was saved), the video is
    fetched again: into a new cache file, never into the exported inode."""
    out = tmp_path / "videos"
    m = start_mount(sim, f"export_dir={out}", state=state_dir)
    assert m.submit("keep.json", {"prompt": "keep me"}).returncode == 0
    wait_until(lambda: (out / "keep.mp4").exists(), what="the export")
    before = os.stat(out / "keep.mp4")
    m.stop(keep=True)
    db = sqlite3.connect(os.path.join(state_dir, "state.db"))
    with db:
        db.execute("DELETE FROM cache")
    db.close()
    m = start_mount(sim, f"export_dir={out}", state=state_dir, dir=m.dir)
    with open(os.path.join(m.task_dir("keep"), "video.mp4"), "rb") as f:
        assert f.read() == fixture_bytes()
    after = os.stat(out / "keep.mp4")
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == \
        (before.st_ino, before.st_mtime_ns, 1)              # the cache let go of it
    assert (out / "keep.mp4").read_bytes() == fixture_bytes()
