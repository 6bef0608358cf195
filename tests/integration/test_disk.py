"""A small or full disk under state_dir: cached videos leave room for the
requests (a free-space floor), and a close() that cannot be saved fails
with ENOSPC and loses nothing that was accepted. On a tmpfs the test
mounts (and unmounts) itself."""
import errno
import os
import subprocess

import pytest

from conftest import FIXTURE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: needs root")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(disk)],
                   check=True)
    yield disk
    if subprocess.run(["umount", str(disk)]).returncode:
        subprocess.run(["umount", "-l", str(disk)])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_the_cache_leaves_its_floor_and_a_full_disk_fails_close_with_enospc(sim, start_mount,
                                                                            small_disk):
    state = str(small_disk / "state")
    video = os.path.getsize(FIXTURE)
    m = start_mount(sim, "cache_min_free=8M", state=state)
    try:
        # 12 videos would need 23 MB of the 24: the cache stays above the floor.
        for i in range(12):
            assert m.submit(f"v{i}.json", {"prompt": f"video {i}"}).returncode == 0
            m.wait_status(f"v{i}")
            with open(os.path.join(m.task_dir(f"v{i}"), "video.mp4"), "rb") as f:
                assert f.read() == open(FIXTURE, "rb").read()
            assert free_bytes(small_disk) >= (8 << 20) - video, f"after v{i}"
        assert "evicted (free space below the floor)" in m.read_log()
        # Something else fills the disk: close() says so, the bytes stay.
        with open(small_disk / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
        r = m.submit("full.json", {"prompt": "no room"})
        assert r.returncode != 0 and "No space left on device" in r.stderr, r.stderr
        with open(m.path("requests", "full.error")) as f:
            assert "No space left on device" in f.read()
        os.unlink(small_disk / "filler")
        r = m.submit("full.json", {"prompt": "room again"})
        assert r.returncode == 0, r.stderr
        assert m.wait_status("full") == "succeeded\n"
        # Nothing accepted was lost.
        m.stop(keep=True)
        m = start_mount(sim, "cache_min_free=8M", state=state, dir=m.dir)
        for name in [f"v{i}" for i in range(12)] + ["full"]:
            assert m.status(name) == "succeeded\n", name
        # df: what is left above the floor. The daemon's own writes (its
        # database) move free space while we look: bracket its answer (a
        # few pages of slack; the floor it must leave is 8 MB).
        before = free_bytes(small_disk)
        sv = os.statvfs(m.mnt)
        free = max(before, free_bytes(small_disk))
        assert sv.f_bavail * sv.f_frsize <= max(0, free - (8 << 20)) + (64 << 10)
    finally:
        m.stop()
    assert m.returncode == 0


def test_below_the_floor_a_read_fails_with_eio_and_submissions_still_work(sim, start_mount,
                                                                         small_disk):
    # A floor above the whole disk: the cache may never write.
    m = start_mount(sim, "cache_min_free=30M", state=str(small_disk / "state"))
    try:
        assert m.submit("a.json", {"prompt": "no room to cache"}).returncode == 0
        assert m.wait_status("a") == "succeeded\n"
        with pytest.raises(OSError) as e:
            with open(os.path.join(m.task_dir("a"), "video.mp4"), "rb") as f:
                f.read()
        assert e.value.errno == errno.EIO
        assert "below the floor" in m.read_log()
        sv = os.statvfs(m.mnt)
        assert sv.f_bavail == 0             # df: nothing left above the floor
        assert m.submit("b.json", {"prompt": "still accepted"}).returncode == 0
        assert m.wait_status("b") == "succeeded\n"
    finally:
        m.stop()
    assert m.returncode == 0               # the refused write did not crash the daemon

