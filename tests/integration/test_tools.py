"""Generic tools on the mount: tree walkers finish with tasks in flight and
copy what is there; media tools read the videos as local files."""
import errno
import os
import shutil
import subprocess
import tarfile

import pytest

from conftest import FIXTURE

WALK_LIMIT = 20                     # seconds: a walker that blocks is killed there


def fixture_bytes():
    with open(FIXTURE, "rb") as f:
        return f.read()


@pytest.fixture
def busy_mount(sim, start_mount):
    """Two finished tasks (one succeeded, one failed) and one that stays
    queued (its `wait` would block a walker that opened it)."""
    m = start_mount(sim)
    for name, prompt in (("done", "a finished one"), ("bad", "this one #fail")):
        assert m.submit(f"{name}.json", {"prompt": prompt}).returncode == 0
        m.wait_status(name)
    sim.control(queue_ms=600000)
    assert m.submit("busy.json", {"prompt": "in flight all along"}).returncode == 0
    assert m.status("busy") == "queued\n"
    return m


def run_walker(cmd, binary=False):
    """Runs a walker under the limit (TimeoutExpired fails the test)."""
    return subprocess.run(cmd, capture_output=True, text=not binary, timeout=WALK_LIMIT)


def check_copy(root):
    """`root` is a copy of the mount's tasks/: the finished tasks' files
    are intact."""
    tasks = {}
    for tid in os.listdir(root):
        with open(os.path.join(root, tid, "status")) as f:
            tasks[f.read()] = tid
    assert set(tasks) == {"succeeded\n", "failed\n", "queued\n"}, tasks
    done = os.path.join(root, tasks["succeeded\n"])
    with open(os.path.join(done, "video.mp4"), "rb") as f:
        assert f.read() == fixture_bytes()
    assert os.path.exists(os.path.join(root, tasks["failed\n"], "error"))
    assert not os.path.exists(os.path.join(done, "wait"))


@pytest.mark.parametrize("walker", ["cp -r", "cp -a", "rsync -a", "tar c", "python os.walk"])
def test_tree_walkers_finish_with_a_task_in_flight_and_copy_what_is_there(busy_mount, tmp_path,
                                                                         walker):
    m = busy_mount
    out = tmp_path / "copy"
    if walker in ("cp -r", "cp -a"):
        r = run_walker([*walker.split(), m.path("tasks"), str(out)])
    elif walker == "rsync -a":
        if not shutil.which("rsync"):
            pytest.skip("rsync is not installed")
        r = run_walker(["rsync", "-a", m.path("tasks") + "/", str(out)])
    elif walker == "tar c":
        tar = tmp_path / "t.tar"
        r = run_walker(["tar", "cf", str(tar), "-C", m.mnt, "tasks"])
        assert r.returncode == 0, r.stderr
        with tarfile.open(tar) as t:
            t.extractall(tmp_path / "x")
        out = tmp_path / "x" / "tasks"
    else:
        script = ("import os, sys, shutil\n"
                  "src, dst = sys.argv[1], sys.argv[2]\n"
                  "for d, dirs, files in os.walk(src):\n"
                  "    rel = os.path.relpath(d, src)\n"
                  "    os.makedirs(os.path.join(dst, rel), exist_ok=True)\n"
                  "    for f in files:\n"
                  "        with open(os.path.join(d, f), 'rb') as i, "
                  "open(os.path.join(dst, rel, f), 'wb') as o:\n"
                  "            shutil.copyfileobj(i, o)\n")
        r = run_walker(["/usr/bin/python3", "-c", script, m.path("tasks"), str(out)])
    assert r.returncode == 0, r.stderr
    check_copy(out)


def test_grep_find_du_and_the_whole_mount_never_block(busy_mount):
    m = busy_mount
    r = run_walker(["grep", "-r", "queued", m.mnt])     # no --exclude: events is not listed
    assert r.returncode == 0 and "/status:queued" in r.stdout, r.stderr
    r = run_walker(["find", m.mnt, "-type", "f", "-exec", "cat", "{}", "+"], binary=True)
    assert r.returncode == 0, r.stderr
    assert fixture_bytes() in r.stdout
    r = run_walker(["du", "-s", m.mnt])
    assert r.returncode == 0, r.stderr
    r = run_walker(["ls", "-laR", m.mnt])
    assert r.returncode == 0 and "wait" not in r.stdout and "events" not in r.stdout
    # The blocking files are still there for whoever asks by name.
    tid = os.path.basename(os.readlink(m.path("by-name", "busy")))
    assert os.path.exists(m.path("tasks", tid, "wait")) and os.path.exists(m.path("events"))


def test_no_directory_dates_from_1970(busy_mount):
    m = busy_mount
    for d, dirs, files in os.walk(m.mnt):
        for name in [d, *(os.path.join(d, f) for f in files)]:
            st = os.lstat(name)
            assert st.st_mtime > 86400 * 365 * 30 and st.st_ctime > 86400 * 365 * 30, name


def xattrs(path):
    return {name: os.getxattr(path, name).decode() for name in os.listxattr(path)}


def test_getfattr_shows_a_tasks_metadata_and_setfattr_is_refused(busy_mount):
    m = busy_mount
    done = m.task_dir("done")
    tid = os.path.basename(os.readlink(done))
    want = {"user.seedance.status": "succeeded", "user.seedance.id": tid,
            "user.seedance.name": "done", "user.seedance.model": "doubao-seedance-2-0-260128",
            "user.seedance.video_size": str(os.path.getsize(FIXTURE)),
            "user.seedance.cached_bytes": str(os.path.getsize(FIXTURE))}
    got = xattrs(done)
    assert {k: got.get(k) for k in want} == want
    assert got["user.seedance.created"].endswith("Z") and got["user.seedance.created"][:2] == "20"
    assert xattrs(os.path.join(done, "video.mp4")) == got       # its files say the same
    assert xattrs(m.task_dir("busy"))["user.seedance.status"] == "queued"
    assert xattrs(m.path("requests", "bad.json"))["user.seedance.status"] == "failed"
    if shutil.which("getfattr"):                    # Debian's attr (make deps installs it)
        r = subprocess.run(["getfattr", "-d", done + "/"], capture_output=True, text=True,
                           timeout=10)
        assert 'user.seedance.status="succeeded"' in r.stdout, r.stderr
    with pytest.raises(OSError) as e:
        os.setxattr(done, "user.seedance.status", b"cancelled")
    assert e.value.errno == errno.ENOTSUP
    with pytest.raises(OSError) as e:
        os.getxattr(done, "user.seedance.nothing")
    assert e.value.errno == errno.ENODATA
    # No ACLs or security labels here: "not supported", which ls -l
    # remembers for the device instead of asking for each entry.
    # (Unprivileged, the kernel answers trusted.* itself; under SELinux, the
    # label too.)
    names = ["system.posix_acl_access"] + ["trusted.x"] * (os.geteuid() == 0) + \
        ["security.selinux"] * (not os.path.exists("/sys/fs/selinux/enforce"))
    for name in names:
        with pytest.raises(OSError) as e:
            os.getxattr(done, name)
        assert e.value.errno == errno.ENOTSUP, name
    # The root and README have none, and say so without an error.
    assert os.listxattr(m.mnt) == [] and os.listxattr(m.path("README")) == []


def status_file(m):
    with open(m.path("STATUS")) as f:
        text = f.read()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(": " in line for line in lines), text
    return dict(line.split(": ", 1) for line in lines)


def test_the_status_file_shows_the_mount_at_a_glance(busy_mount, sim):
    m = busy_mount
    s = status_file(m)
    assert (s["tasks"], s["tasks_succeeded"], s["tasks_failed"], s["tasks_queued"]) == \
        ("3", "1", "1", "1")
    assert s["requests_pending"] == "0" and s["api_url"] == sim.url
    assert int(s["cache_used_bytes"]) >= os.path.getsize(FIXTURE)
    assert int(s["cache_max_bytes"]) == 10 << 30
    assert int(s["api_calls_last_hour"]) > 0 and s["api_429_last_hour"] == "0"
    assert s["api_last_error"] == "none" and s["poll_mode"] in ("list", "untried")
    assert float(s["next_poll_s"]) >= 0
    # The API goes down: the request waits, and STATUS says why.
    sim.control(api_down=True)
    r = m.submit("later.json", {"prompt": "while the API is down"})
    assert r.returncode == 0, r.stderr
    s = status_file(m)
    assert s["requests_pending"] == "1" and "503" in s["pending.later"]
    assert int(s["api_retried_last_hour"]) > 0 and "HTTP 503" in s["api_last_error"]
    assert s["api_last_error_at"].endswith("Z")
    assert os.stat(m.path("STATUS")).st_size > 0
    # A name is part of a key: what could split "key: value" is %-encoded.
    assert m.submit("odd: name.json", {"prompt": "a colon in the name"}).returncode == 0
    assert "503" in status_file(m)["pending.odd%3A%20name"]


def test_chmod_that_asks_for_no_less_succeeds_and_one_that_hides_fails(mount, tmp_path):
    src = tmp_path / "fox.json"
    src.write_text('{"prompt": "copied with shutil.copy"}')
    src.chmod(0o644)
    shutil.copy(src, mount.path("requests", "fox.json"))      # copymode: 0644 on a 0444 file
    assert os.stat(mount.path("requests", "fox.json")).st_mode & 0o777 == 0o444
    with pytest.raises(PermissionError):
        os.chmod(mount.path("requests", "fox.json"), 0o400)   # others could still read it
    with pytest.raises(PermissionError):
        os.chown(mount.path("requests", "fox.json"), 65534, -1)


def tool(name):
    if not shutil.which(name):
        pytest.skip(f"{name} is not installed (make deps installs it)")
    return name


@pytest.fixture
def video(sim, start_mount):
    """A finished task's video.mp4 on the mount."""
    m = start_mount(sim)
    assert m.submit("media.json", {"prompt": "for the media tools"}).returncode == 0
    m.wait_status("media")
    return os.path.join(m.task_dir("media"), "video.mp4")


def run_tool(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME=os.environ.get("HOME", "/tmp")))
    assert r.returncode == 0, (cmd, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout + r.stderr


def test_ffprobe_sees_the_streams(video):
    out = run_tool(tool("ffprobe"), "-v", "error", "-show_entries",
                   "stream=codec_name:format=duration", "-of", "default=nw=1", video)
    assert "codec_name=h264" in out and "codec_name=aac" in out
    assert abs(float(out.split("duration=")[1].split()[0]) - 6.0) < 0.1


def test_gstreamer_discovers_and_demuxes(video):
    out = run_tool(tool("gst-discoverer-1.0"), video)
    assert "Duration: 0:00:06" in out and "H.264" in out, out
    out = run_tool(tool("gst-launch-1.0"), "-q", "filesrc", f"location={video}", "!", "qtdemux",
                   "!", "fakesink")
    r = subprocess.run(["gst-launch-1.0", "filesrc", f"location={video}", "!", "qtdemux", "name=d",
                        "d.video_0", "!", "queue", "!", "fakesink", "sync=false"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Got EOS" in r.stdout, r.stdout + r.stderr


def test_mpv_plays_frames(video):
    out = run_tool(tool("mpv"), "--no-config", "--vo=null", "--ao=null", "--frames=10",
                   "--msg-level=all=v", video)
    assert "h264" in out and ("(End of file)" in out or "(Quit)" in out), out[-1500:]


def test_mediainfo_reads_the_container(video):
    out = run_tool(tool("mediainfo"), video)
    assert "AVC" in out and "AAC" in out and "6 s" in out, out
