"""Submit, poll and stream: the user's shell session from the README, in each
dialect (the tests that take `mount` run three times)."""
import errno
import json
import os
import subprocess

import pytest

from conftest import FIXTURE, KEY, wait_until

FOX = {"model": "doubao-seedance-2-0-260128",
       "content": [{"type": "text", "text": "a red fox runs through snow"}],
       "resolution": "480p", "duration": 5}


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


@pytest.fixture(params=["gateway", "ark", "openai"])
def dialect(request):
    return request.param


@pytest.fixture
def mount(sim, start_mount, dialect):
    return start_mount(sim, f"dialect={dialect}")


def test_cp_json_submits_and_the_video_plays(mount, sim, tmp_path, dialect):
    src = tmp_path / "fox.json"
    src.write_text(json.dumps(FOX))
    r = subprocess.run(["cp", str(src), mount.path("requests")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    link = os.readlink(mount.path("by-name", "fox"))
    assert link.startswith("../tasks/video-" if dialect == "openai" else "../tasks/cgt-")
    task_id = link.split("/")[-1]
    assert read(mount.path("by-name", "fox", "status")) in ("queued\n", "running\n", "succeeded\n")
    assert mount.wait_status("fox") == "succeeded\n"

    video = mount.path("tasks", task_id, "video.mp4")
    assert os.stat(video).st_size == os.path.getsize(FIXTURE)
    assert read(video, "rb") == read(FIXTURE, "rb")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", video], capture_output=True, text=True)
    assert probe.returncode == 0 and float(probe.stdout) == pytest.approx(6.0, abs=0.1)

    sent = json.loads(read(mount.path("tasks", task_id, "request.json")))
    assert sent["content"] == FOX["content"] and sent["duration"] == 5
    task = json.loads(read(mount.path("tasks", task_id, "task.json")))
    done = "completed" if dialect == "openai" else "succeeded"
    assert task["id"] == task_id and task["status"] == done
    # Times in stat come from the task.
    changed = task["completed_at" if dialect == "openai" else "updated_at"]
    assert os.stat(mount.path("tasks", task_id)).st_mtime == changed
    assert os.stat(mount.path("tasks", task_id, "status")).st_mtime == changed
    # wait blocks by design: open by name, not listed (tree walkers never hang);
    # the OpenAI shape adds its progress and thumbnail.
    extra = ["progress", "thumbnail.webp"] if dialect == "openai" else []
    wait_until(lambda: sorted(os.listdir(mount.path("tasks", task_id))) ==
               sorted(["request.json", "status", "task.json", "video.mp4"] + extra),
               what="the task's files")
    # The request file keeps what the user wrote, read-only now.
    assert json.loads(read(mount.path("requests", "fox.json"))) == FOX
    assert sim.stats()["creates"] == 1


def test_seek_reads_match_the_source(mount):
    assert mount.submit("seek.json", {"prompt": "seek test"}).returncode == 0
    mount.wait_status("seek")
    src = read(FIXTURE, "rb")
    with open(mount.path("by-name", "seek", "video.mp4"), "rb") as f:
        for off, n in ((len(src) - 6000, 6000), (0, 32), (1_500_000, 70_000), (1_048_570, 20),
                       (len(src) - 1, 10), (len(src) + 5, 10)):
            f.seek(off)
            assert f.read(n) == src[off:off + n], off


def test_ffmpeg_decodes_a_frame_from_the_middle(mount):
    assert mount.submit("mid.json", {"prompt": "middle frame"}).returncode == 0
    mount.wait_status("mid")
    r = subprocess.run(["ffmpeg", "-v", "error", "-ss", "3", "-i",
                        mount.path("by-name", "mid", "video.mp4"), "-frames:v", "1",
                        "-f", "null", "-"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_txt_and_echo_short_forms(mount, sim):
    r = subprocess.run(["sh", "-c", f"echo 'a cat on a piano' > {mount.path('requests', 'cat.txt')}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["sh", "-c", "echo '{\"prompt\": \"a dog\", \"seed\": 7, \"ratio\": \"9:16\"}' > "
                        + mount.path("requests", "dog.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(mount.path("by-name"))) == ["cat", "dog"]
    sent = json.loads(read(mount.path("by-name", "cat", "request.json")))
    assert sent["content"] == [{"type": "text", "text": "a cat on a piano"}]
    assert sent["model"] == "doubao-seedance-2-0-260128"
    sent = json.loads(read(mount.path("by-name", "dog", "request.json")))
    assert sent["seed"] == 7 and sent["ratio"] == "9:16"
    assert sim.stats()["creates"] == 2


def test_partial_writes_in_one_open_submit_once(mount, sim):
    text = json.dumps(FOX).encode()
    fd = os.open(mount.path("requests", "parts.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    for i in range(0, len(text), 7):
        os.write(fd, text[i:i + 7])
    os.close(fd)
    assert os.path.islink(mount.path("by-name", "parts"))
    assert sim.stats()["creates"] == 1


def test_editor_style_temp_file_then_rename_submits(mount, sim):
    tmp = mount.path("requests", ".edit.json.swp")
    with open(tmp, "w") as f:
        f.write(json.dumps({"prompt": "saved by an editor"}))
    assert sim.stats()["creates"] == 0          # a temp file is only a draft
    assert ".edit.json.swp" in os.listdir(mount.path("requests"))
    os.rename(tmp, mount.path("requests", "edited.json"))
    assert os.path.islink(mount.path("by-name", "edited"))
    assert sim.stats()["creates"] == 1
    assert ".edit.json.swp" not in os.listdir(mount.path("requests"))


def test_invalid_json_fails_cp_with_reason_and_submits_nothing(mount, sim, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"prompt": "unterminated')
    r = subprocess.run(["cp", str(bad), mount.path("requests")], capture_output=True, text=True)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    reason = read(mount.path("requests", "bad.error"))
    assert "invalid JSON" in reason
    # Nothing the user wrote is lost, and nothing was sent.
    assert read(mount.path("requests", "bad.json")) == bad.read_text()
    assert sim.stats()["creates"] == 0
    assert os.listdir(mount.path("by-name")) == []
    # Fixing the file and writing it again submits it.
    r = mount.submit("bad.json", {"prompt": "fixed"})
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(mount.path("requests", "bad.error"))
    assert sim.stats()["creates"] == 1


@pytest.mark.parametrize("body,reason", [
    ({"prompt": "x", "duration": 99}, "duration"),
    ({"prompt": "x", "resolution": "8k"}, "resolution"),
    ({"content": [{"type": "smell", "text": "x"}]}, "unknown type"),
    ({"content": [{"type": "image_url", "image_url": {"url": "u"}, "role": "boss"}]}, "role"),
    ({"prompt": "x", "seed": "42"}, "seed"),
    ({}, "no prompt"),
])
def test_out_of_range_parameters_fail_close_with_einval(mount, sim, body, reason):
    r = mount.submit("p.json", body)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert reason in read(mount.path("requests", "p.error"))
    assert sim.stats()["creates"] == 0


def test_binary_junk_and_huge_files_are_refused(start_mount, sim):
    mount = start_mount(sim, "max_request=64K")
    with pytest.raises(OSError) as e:
        with open(mount.path("requests", "junk.json"), "wb") as f:
            f.write(b"\x00\xff\xfe" * 100)
    assert e.value.errno == errno.EINVAL
    assert "UTF-8" in read(mount.path("requests", "junk.error"))
    with pytest.raises(OSError) as e:
        with open(mount.path("requests", "huge.json"), "wb") as f:
            f.write(b" " * (65 << 10))
    assert e.value.errno == errno.EFBIG
    assert sim.stats()["creates"] == 0


def test_same_name_twice_is_an_error_not_a_second_task(mount, sim):
    assert mount.submit("twice.json", FOX).returncode == 0
    r = mount.submit("twice.json", FOX)
    assert r.returncode != 0 and "File exists" in r.stderr
    r = mount.submit("twice.txt", "same name, other form")
    assert r.returncode != 0 and "File exists" in r.stderr
    assert sim.stats()["creates"] == 1


def test_failed_task_shows_error_and_no_video(mount):
    assert mount.submit("bad.json", {"prompt": "something #fail"}).returncode == 0
    assert mount.wait_status("bad") == "failed\n"
    err = read(mount.path("by-name", "bad", "error"))
    assert err.startswith("OutputVideoSensitiveContentDetected.PolicyViolation: ")
    assert err.endswith("\n") and err.count("\n") == 1
    assert not os.path.exists(mount.path("by-name", "bad", "video.mp4"))


def test_last_frame_png_appears_when_asked_for(mount, dialect):
    if dialect == "openai":
        pytest.skip("the OpenAI shape returns no last frame (its thumbnail: test_openai.py)")
    assert mount.submit("lf.json", {"prompt": "x", "return_last_frame": True}).returncode == 0
    assert mount.wait_status("lf") == "succeeded\n"
    assert read(mount.path("by-name", "lf", "last_frame.png"), "rb").startswith(b"\x89PNG\r\n")


def test_rmdir_cancels_queued_refuses_running_deletes_finished(start_sim, start_mount, dialect):
    sim = start_sim("--queue-ms", "3000", "--run-ms", "3000")
    mount = start_mount(sim, f"dialect={dialect}")
    assert mount.submit("q.json", {"prompt": "queued"}).returncode == 0
    task = mount.path("by-name", "q")
    task_dir = os.path.realpath(task)
    os.rmdir(task_dir)
    if dialect != "openai":                      # which has no cancel: a delete
        assert mount.wait_status("q") == "cancelled\n"
        os.rmdir(task_dir)                       # finished now: delete
    assert not os.path.exists(task_dir)
    assert "q" not in os.listdir(mount.path("by-name"))

    assert mount.submit("r.json", {"prompt": "running"}).returncode == 0
    wait_until(lambda: mount.status("r") == "running\n", what="running")
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.realpath(mount.path("by-name", "r")))
    assert e.value.errno == errno.EBUSY


@pytest.mark.parametrize("mode", ["range", "full", "redirect"])
def test_every_content_mode_streams_the_same_bytes(start_sim, start_mount, mode):
    sim = start_sim("--content-mode", mode)
    mount = start_mount(sim)
    assert mount.submit("m.json", {"prompt": "content mode " + mode}).returncode == 0
    mount.wait_status("m")
    src = read(FIXTURE, "rb")
    video = mount.path("by-name", "m", "video.mp4")
    with open(video, "rb") as f:
        f.seek(len(src) - 5000)
        assert f.read() == src[-5000:]
    assert read(video, "rb") == src
    # The Bearer key never follows a redirect to the CDN host.
    assert sim.stats()["auth_leaks"] == 0


def test_ark_dialect_reads_content_video_url(sim, start_mount):
    mount = start_mount(sim, "dialect=ark")
    assert mount.submit("ark.json", {"prompt": "ark dialect"}).returncode == 0
    mount.wait_status("ark")
    assert read(mount.path("by-name", "ark", "video.mp4"), "rb") == read(FIXTURE, "rb")
    assert sim.stats()["content_requests"] == 0   # straight from the signed URL
    assert sim.stats()["auth_leaks"] == 0


def test_killing_the_server_mid_read_gives_eio_not_a_hang(sim, start_mount):
    # cache_max=1 keeps only the newest video on disk, so "kill" must come
    # from the server again once "other" is cached.
    mount = start_mount(sim, "cache_max=1")
    assert mount.submit("kill.json", {"prompt": "kill the server"}).returncode == 0
    mount.wait_status("kill")
    kill_id = os.readlink(mount.path("by-name", "kill")).split("/")[-1]
    wait_until(lambda: f"download {kill_id}: complete" in mount.read_log(), what="download")
    assert mount.submit("other.json", {"prompt": "push it out"}).returncode == 0
    mount.wait_status("other")
    wait_until(lambda: f"cache {kill_id}: evicted" in mount.read_log(), what="eviction")
    with open(mount.path("by-name", "kill", "video.mp4"), "rb") as f:
        sim.stop()                  # dies while the reader has the file open
        f.seek(1_500_000)
        with pytest.raises(OSError) as e:
            f.read(65536)
        assert e.value.errno == errno.EIO
    # ls and cat still answer from memory.
    assert mount.status("kill") == "succeeded\n"


def test_key_never_appears_in_the_tree_or_the_log(mount, sim):
    assert mount.submit("secret.json", {"prompt": "where is the key"}).returncode == 0
    mount.wait_status("secret")
    for root, dirs, files in os.walk(mount.mnt):
        for name in files:
            # events blocks like a pipe until a line arrives; video.mp4 is bytes.
            if name not in ("video.mp4", "events"):
                assert KEY not in read(os.path.join(root, name), "rb").decode(errors="replace")
    assert KEY not in mount.read_log()


def test_rmdir_of_a_finished_task_deletes_its_cached_video(start_sim, start_mount, state_dir):
    sim = start_sim()
    mount = start_mount(sim, state=state_dir)
    assert mount.submit("gone.json", {"prompt": "to be deleted"}).returncode == 0
    mount.wait_status("gone", want=("succeeded",))
    task_id = os.path.basename(os.readlink(mount.task_dir("gone")))
    cached = os.path.join(state_dir, "videos", task_id + ".mp4")
    wait_until(lambda: "complete" in mount.read_log(), what="the download to finish")
    assert os.path.getsize(cached) == os.path.getsize(FIXTURE)
    os.rmdir(mount.path("tasks", task_id))
    assert not os.path.exists(cached)
    # Nor does the next mount find a map for it.
    mount.unmount()
    mount = start_mount(sim, state=state_dir)
    assert not os.path.exists(mount.path("tasks", task_id))
    assert not os.path.exists(cached)
    assert f"cache {task_id}" not in mount.read_log()


def test_rmdir_during_a_429_pause_fails_with_eagain_instead_of_sleeping(start_sim, start_mount):
    # A FUSE thread may wait for the API budget briefly, never through a
    # Retry-After: rmdir answers EAGAIN and `ls` keeps working.
    sim = start_sim()
    mount = start_mount(sim)
    assert mount.submit("done.json", {"prompt": "finished"}).returncode == 0
    mount.wait_status("done", want=("succeeded",))
    task_id = os.path.basename(os.readlink(mount.task_dir("done")))
    sim.control(api_429=1, retry_after=600)
    assert mount.submit("paused.json", {"prompt": "meets the 429"}).returncode == 0
    wait_until(lambda: "pausing API calls" in mount.read_log(), what="the 429 pause")
    p = subprocess.run(["rmdir", mount.path("tasks", task_id)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0 and "Resource temporarily unavailable" in p.stderr
    assert task_id in os.listdir(mount.path("tasks"))
