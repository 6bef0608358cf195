"""-o dialect=openai: the OpenAI Videos shape new-api gateways speak. What the
wire carries, progress, thumbnails, import by cursor, a gateway without a
list or variants, restart. (The workflow tests run in this dialect too.)"""
import json
import os
import urllib.request

from conftest import FIXTURE, KEY, wait_until


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def openai_mount(start_sim, start_mount, *sim_args, **kw):
    sim = start_sim(*sim_args)
    return sim, start_mount(sim, "dialect=openai", **kw)


def test_the_wire_carries_seconds_metadata_and_references(start_sim, start_mount):
    sim, mount = openai_mount(start_sim, start_mount)
    body = {"prompt": "a fox", "duration": 5, "resolution": "720p", "seed": 7,
            "reference_images": ["https://cdn.example.com/fox.png"], "watermark": False}
    assert mount.submit("fox.json", body).returncode == 0
    assert mount.wait_status("fox") == "succeeded\n"
    sent = sim.tasks()[0]["openai"]
    assert sent["prompt"] == "a fox" and sent["seconds"] == "5" and "duration" not in sent
    assert sent["metadata"]["resolution"] == "720p" and sent["metadata"]["seed"] == 7
    assert sent["metadata"]["watermark"] is False
    assert sent["metadata"]["content"] == [{"type": "image_url", "role": "reference_image",
                                            "image_url": {"url": "https://cdn.example.com/fox.png"}}]
    # What this dialect cannot carry fails close(), naming it; nothing is sent.
    r = mount.submit("odd.json", {"prompt": "x", "frobnicate": 3})
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert 'cannot carry "frobnicate"' in read(mount.path("requests", "odd.error"))
    assert sim.stats()["creates"] == 1


def test_progress_file_and_events_lines(start_sim, start_mount):
    sim, mount = openai_mount(start_sim, start_mount, "--queue-ms", "200", "--run-ms", "4000")
    fd = os.open(mount.path("events"), os.O_RDONLY | os.O_NONBLOCK)
    seen = []

    def events():
        """What the events file said so far (never waits)."""
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                seen.append(chunk.decode())
        except BlockingIOError:
            pass
        return "".join(seen)
    try:
        assert mount.submit("slow.json", {"prompt": "slow"}).returncode == 0
        wait_until(lambda: mount.status("slow") == "running\n", what="running")
        progress = mount.path("by-name", "slow", "progress")
        wait_until(lambda: os.path.exists(progress) and 10 <= int(read(progress)) < 100,
                   timeout=10, what="progress between 10 and 99")
        assert read(progress).endswith("\n") and read(progress).strip().isdigit()
        assert mount.wait_status("slow") == "succeeded\n"
        assert read(progress) == "100\n"
        wait_until(lambda: " progress=100" in events(), what="the last progress line")
    finally:
        os.close(fd)
    lines = [ln for ln in "".join(seen).splitlines() if " progress=" in ln]
    steps = [int(ln.split("progress=")[1]) for ln in lines]
    assert steps == sorted(steps) and len(steps) >= 2
    assert all(b - a >= 10 for a, b in zip(steps, steps[1:-1]))
    assert all(" running running progress=" in ln or " progress=100" in ln for ln in lines)


def test_thumbnail_appears_and_a_gateway_ignoring_variant_gives_none(start_sim, start_mount):
    sim, mount = openai_mount(start_sim, start_mount)
    assert mount.submit("t.json", {"prompt": "thumb"}).returncode == 0
    assert mount.wait_status("t") == "succeeded\n"
    thumb = mount.path("by-name", "t", "thumbnail.webp")
    wait_until(lambda: os.path.exists(thumb), what="thumbnail")
    data = read(thumb, "rb")
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert not os.path.exists(mount.path("by-name", "t", "last_frame.png"))
    # new-api's proxy sends the MP4 for any variant: no thumbnail, and the
    # video is not held back for it.
    sim.control(variant_ignored=True)
    assert mount.submit("u.json", {"prompt": "no thumb"}).returncode == 0
    assert mount.wait_status("u") == "succeeded\n"
    wait_until(lambda: "is not an image" in mount.read_log(), what="the refusal logged")
    assert not os.path.exists(mount.path("by-name", "u", "thumbnail.webp"))
    assert read(mount.path("by-name", "u", "video.mp4"), "rb")[4:8] == b"ftyp"


def create_elsewhere(sim, prompt):
    req = urllib.request.Request(sim.url + "/v1/videos", method="POST",
                                 data=json.dumps({"model": "m", "prompt": prompt}).encode(),
                                 headers={"Authorization": "Bearer " + KEY})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)["id"]


def test_import_pages_by_cursor_and_a_gateway_without_a_list(start_sim, start_mount):
    sim = start_sim("--queue-ms", "0", "--run-ms", "0")
    ids = [create_elsewhere(sim, f"made elsewhere {i}") for i in range(130)]
    mount = start_mount(sim, "dialect=openai")
    wait_until(lambda: len(os.listdir(mount.path("tasks"))) == 130, what="130 imported")
    assert sorted(os.listdir(mount.path("tasks"))) == sorted(ids)
    assert read(mount.path("tasks", ids[0], "status")) == "succeeded\n"
    # new-api has no list route: nothing imported, our own tasks still poll.
    sim2 = start_sim()
    sim2.control(openai_no_list=True)
    create_elsewhere(sim2, "invisible")
    mount2 = start_mount(sim2, "dialect=openai")
    assert mount2.submit("own.json", {"prompt": "own"}).returncode == 0
    assert mount2.wait_status("own") == "succeeded\n"
    assert len(os.listdir(mount2.path("tasks"))) == 1
    assert "not importing" in mount2.read_log()


def test_restart_mid_run_finishes_the_task(start_sim, start_mount, state_dir):
    sim = start_sim("--queue-ms", "300", "--run-ms", "2000")
    mount = start_mount(sim, "dialect=openai", state=state_dir)
    assert mount.submit("r.json", {"prompt": "restart"}).returncode == 0
    wait_until(lambda: mount.status("r") == "running\n", what="running")
    mount.unmount()
    mount = start_mount(sim, "dialect=openai", state=state_dir)
    assert mount.wait_status("r") == "succeeded\n"
    assert sim.stats()["creates"] == 1
    with open(mount.path("by-name", "r", "video.mp4"), "rb") as f:
        assert f.read(8)[4:8] == b"ftyp"


def test_a_failed_video_says_why(start_sim, start_mount):
    sim, mount = openai_mount(start_sim, start_mount)
    assert mount.submit("bad.json", {"prompt": "#fail here"}).returncode == 0
    assert mount.wait_status("bad") == "failed\n"
    assert read(mount.path("by-name", "bad", "error")).startswith(
        "OutputVideoSensitiveContentDetected.PolicyViolation: ")
    assert not os.path.exists(mount.path("by-name", "bad", "video.mp4"))


def test_a_proxy_that_ignores_range_and_a_video_gone_at_the_provider(start_sim, start_mount):
    """new-api's older content proxy sends the whole file for any Range;
    once the provider dropped a video, video_error says so."""
    sim = start_sim("--content-mode", "full")
    gone = create_elsewhere(sim, "made elsewhere, gone at the provider")
    mount = start_mount(sim, "dialect=openai")
    assert mount.submit("p.json", {"prompt": "proxied"}).returncode == 0
    assert mount.wait_status("p") == "succeeded\n"
    src = read(FIXTURE, "rb")
    with open(mount.path("by-name", "p", "video.mp4"), "rb") as f:
        f.seek(len(src) - 4096)
        assert f.read() == src[-4096:]
    task_dir = mount.path("tasks", gone)
    wait_until(lambda: os.path.exists(task_dir) and read(os.path.join(task_dir, "status")) ==
               "succeeded\n", what="imported and succeeded")
    sim.control(content_gone=True)
    assert not os.path.exists(os.path.join(task_dir, "video.mp4"))   # looked at: probed
    assert "no longer" in read(os.path.join(task_dir, "video_error"))
