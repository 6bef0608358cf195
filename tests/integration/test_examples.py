"""Every example in examples/ runs against the simulator, as a user would
run it: request files copied into requests/, and the scripts."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import FIXTURE, ROOT, wait_until

EXAMPLES = os.path.join(ROOT, "examples")


def roles(request):
    return sorted(c.get("role", c["type"]) for c in request["content"])


# example -> what the API must have received, and whether a last frame was asked for
REQUESTS = {
    "fox.json": (["text"], False),
    "boat.txt": (["text"], False),
    "first-frame.json": (["first_frame", "text"], False),
    "first-last-frame.json": (["first_frame", "last_frame", "text"], True),
    "reference-images.json": (["reference_image", "reference_image", "text"], False),
    "reference-video.json": (["reference_video", "text"], False),
    "reference-audio.json": (["reference_audio", "reference_image", "text"], False),
    "reference.json": (["reference_audio", "reference_image", "reference_video", "text"], False),
    "all-parameters.json": (["text"], True),
}


def sent_request(sim, mount, name):
    tid = os.path.basename(os.readlink(mount.task_dir(name)))
    return next(t["request"] for t in sim.tasks() if t["id"] == tid)


@pytest.mark.parametrize("example", sorted(REQUESTS))
def test_request_examples_submit_and_succeed(sim, mount, example):
    want_roles, last_frame = REQUESTS[example]
    shutil.copy(os.path.join(EXAMPLES, example), mount.path("requests", example))
    name = example.rsplit(".", 1)[0]
    with open(os.path.join(mount.task_dir(name), "wait")) as f:
        assert f.read() == "succeeded\n"
    request = sent_request(sim, mount, name)
    assert roles(request) == want_roles
    assert os.path.exists(os.path.join(mount.task_dir(name), "last_frame.png")) == last_frame
    if example.endswith(".json"):
        with open(os.path.join(EXAMPLES, example)) as f:
            mine = json.load(f)
        params = {k: v for k, v in mine.items() if k not in ("prompt", "content") and
                  not k.startswith(("first_frame", "last_frame", "reference_"))}
        assert {k: request.get(k) for k in params} == params     # every parameter reached the API


def test_batch_from_a_csv(mount):
    r = subprocess.run(["/usr/bin/python3", os.path.join(EXAMPLES, "batch.py"),
                        os.path.join(EXAMPLES, "prompts.csv"), mount.mnt],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == \
        [["lantern", "succeeded"], ["tide", "succeeded"], ["clock", "succeeded"]]
    with open(os.path.join(mount.task_dir("clock"), "request.json")) as f:
        assert json.load(f)["duration"] == 6
    # Run again: the names are taken, nothing is submitted twice.
    r = subprocess.run(["/usr/bin/python3", os.path.join(EXAMPLES, "batch.py"),
                        os.path.join(EXAMPLES, "prompts.csv"), mount.mnt],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.count("refused") == 3


@pytest.mark.skipif(not shutil.which("inotifywait"), reason="needs inotify-tools")
def test_export_watch_runs_the_command_once_per_finished_video(sim, start_mount, tmp_path):
    out, log = tmp_path / "videos", tmp_path / "ran.log"
    out.mkdir()
    m = start_mount(sim, f"export_dir={out}")
    watcher = subprocess.Popen(
        ["sh", os.path.join(EXAMPLES, "export-watch.sh"), str(out),
         f'echo "$1 $(stat -c %s "$1")" >> {log}'],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # inotifywait is watching once its process has the folder open.
        wait_until(lambda: any(
            p.isdigit() and os.path.exists(f"/proc/{p}/comm") and
            open(f"/proc/{p}/comm").read().strip() == "inotifywait" and
            os.getpgid(int(p)) == watcher.pid for p in os.listdir("/proc")),
            what="inotifywait to start")
        wait_until(lambda: any(os.readlink(f"/proc/{p}/fd/{fd}").startswith("anon_inode:inotify")
                               for p in os.listdir("/proc") if p.isdigit()
                               and os.getpgid(int(p)) == watcher.pid
                               for fd in os.listdir(f"/proc/{p}/fd")),
                   what="the inotify watch")
        for name in ("a", "b"):
            assert m.submit(f"{name}.json", {"prompt": f"export {name}"}).returncode == 0
        size = os.path.getsize(FIXTURE)
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) == 2,
                   what="the command to run twice")
        assert sorted(log.read_text().splitlines()) == [f"{out}/a.mp4 {size}", f"{out}/b.mp4 {size}"]
    finally:
        os.killpg(watcher.pid, signal.SIGTERM)
        watcher.wait(timeout=10)
        watcher.stderr.close()


def test_concat_of_results_straight_from_the_mount(mount, tmp_path):
    for name in ("one", "two"):
        assert mount.submit(f"{name}.json", {"prompt": name}).returncode == 0
    out = tmp_path / "joined.mp4"
    r = subprocess.run(["sh", os.path.join(EXAMPLES, "concat.sh"), mount.mnt, str(out), "one", "two"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                            "csv=p=0", str(out)], capture_output=True, text=True, timeout=30)
    assert abs(float(probe.stdout) - 12.0) < 0.2


def test_play_waits_and_plays(mount):
    assert mount.submit("show.json", {"prompt": "to be played"}).returncode == 0
    player = ("mpv --no-config --vo=null --ao=null --frames=10" if shutil.which("mpv")
              else "ffprobe -v error")
    r = subprocess.run(["sh", os.path.join(EXAMPLES, "play.sh"), mount.mnt, "show"],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, PLAYER=player))
    assert r.returncode == 0, r.stderr
