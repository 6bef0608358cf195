"""Durability: an accepted request is never lost and never submitted twice;
a finished video keeps working after its URL expired and after a restart."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import FIXTURE, wait_until


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def prompts_at_sim(sim):
    counts = {}
    for t in sim.tasks():
        counts[t["prompt"]] = counts.get(t["prompt"], 0) + 1
    return counts


def wait_cached(mount, name, timeout=30):
    """Waits for the background download of NAME's video to finish (log line)."""
    task_id = os.readlink(mount.path("by-name", name)).split("/")[-1]
    wait_until(lambda: f"download {task_id}: complete" in mount.read_log(), timeout=timeout,
               what=f"{name} cached")
    return task_id


def test_api_down_cp_succeeds_and_the_task_follows_when_it_is_back(mount, sim):
    sim.control(api_down=True)
    r = mount.submit("down.json", {"prompt": "while down"})
    assert r.returncode == 0, r.stderr
    # Pending is visible, with the reason.
    assert os.readlink(mount.path("by-name", "down")) == "../pending/down"
    assert read(mount.path("by-name", "down", "status")) == "pending\n"
    wait_until(lambda: "503" in read(mount.path("pending", "down", "reason")), what="reason")
    assert json.loads(read(mount.path("pending", "down", "request.json")))["content"][0]["text"] \
        == "while down"
    assert sim.stats()["creates"] == 0
    sim.control(api_down=False)
    wait_until(lambda: os.readlink(mount.path("by-name", "down")).startswith("../tasks/"),
               timeout=20, what="the task after the API came back")
    assert mount.wait_status("down") == "succeeded\n"
    assert prompts_at_sim(sim) == {"while down": 1}
    assert os.listdir(mount.path("pending")) == []


def test_server_down_entirely_cp_succeeds_and_ls_answers(start_sim, start_mount):
    sim = start_sim()
    mount = start_mount(sim)
    sim.stop()
    t = time.monotonic()
    r = mount.submit("offline.json", {"prompt": "nobody listens"})
    assert r.returncode == 0, r.stderr
    assert os.listdir(mount.path("by-name")) == ["offline"]
    assert read(mount.path("by-name", "offline", "status")) == "pending\n"
    assert time.monotonic() - t < 30           # a hang detector, not a timing test


def test_429_storm_delays_but_does_not_fail_the_request(mount, sim):
    sim.control(create_429=3)
    assert mount.submit("busy.json", {"prompt": "rate limited"}).returncode == 0
    assert mount.wait_status("busy", timeout=60) == "succeeded\n"
    assert prompts_at_sim(sim) == {"rate limited": 1}
    assert "429" in mount.read_log()


def test_api_400_after_close_marks_the_request_rejected(start_sim, start_mount):
    sim = start_sim()
    mount = start_mount(sim, "submit_wait=0")
    sim.control(api_down=True)
    # Passes local checks, but this simulator allows only 4..15 for every model.
    body = {"model": "doubao-seedance-1-0-pro", "prompt": "x", "duration": 2}
    assert mount.submit("late.json", body).returncode == 0
    sim.control(api_down=False)
    wait_until(lambda: os.path.exists(mount.path("requests", "late.error")), timeout=20,
               what="rejection")
    assert "InvalidParameter" in read(mount.path("requests", "late.error"))
    assert read(mount.path("by-name", "late", "status")) == "rejected\n"
    assert sim.stats()["creates"] == 0
    # The file is editable again: fix it and it goes out.
    body["duration"] = 5
    assert mount.submit("late.json", body).returncode == 0
    assert mount.wait_status("late") == "succeeded\n"


def test_restart_replays_tasks_and_serves_cached_video_offline(sim, start_mount, state_dir):
    mount = start_mount(sim, state=state_dir)
    assert mount.submit("keep.json", {"prompt": "keep me"}).returncode == 0
    assert mount.submit("fail.json", {"prompt": "x #fail"}).returncode == 0
    mount.wait_status("keep")
    mount.wait_status("fail")
    task_id = wait_cached(mount, "keep")
    mount.unmount()

    sim.control(content_off=True, api_down=True)    # URL expired, API gone
    before = sim.stats()
    mount = start_mount(sim, state=state_dir)
    assert read(mount.path("by-name", "keep", "status")) == "succeeded\n"
    assert read(mount.path("by-name", "fail", "status")) == "failed\n"
    assert "PolicyViolation" in read(mount.path("by-name", "fail", "error"))
    assert read(mount.path("requests", "keep.json")) == json.dumps({"prompt": "keep me"})
    video = mount.path("tasks", task_id, "video.mp4")
    assert os.stat(video).st_size == os.path.getsize(FIXTURE)
    assert read(video, "rb") == read(FIXTURE, "rb")
    after = sim.stats()
    assert after["content_requests"] == before["content_requests"]
    assert after["bytes_served"] == before["bytes_served"]
    assert after["creates"] == 2


def test_pending_request_survives_a_restart_and_goes_out_once(sim, start_mount, state_dir):
    sim.control(api_down=True)
    mount = start_mount(sim, state=state_dir)
    assert mount.submit("later.json", {"prompt": "after restart"}).returncode == 0
    mount.unmount()
    sim.control(api_down=False)
    mount = start_mount(sim, state=state_dir)
    assert mount.wait_status("later", timeout=30) == "succeeded\n"
    assert prompts_at_sim(sim) == {"after restart": 1}


def test_kill9_while_post_is_unanswered_adopts_the_task_no_duplicate(sim, start_mount, state_dir):
    mount = start_mount(sim, "submit_wait=0", state=state_dir)
    sim.control(create_delay_ms=4000)
    assert mount.submit("lost.json", {"prompt": "answer lost", "seed": 5}).returncode == 0
    wait_until(lambda: sim.stats()["creates"] == 1, what="the POST to arrive")
    mount.kill9()                               # the id never reached the store
    sim.control(create_delay_ms=0)
    mount = start_mount(sim, state=state_dir)
    assert mount.wait_status("lost", timeout=30) == "succeeded\n"
    assert prompts_at_sim(sim) == {"answer lost": 1}
    assert "adopting task" in mount.read_log()


def test_kill9_before_the_post_sends_it_after_restart(sim, start_mount, state_dir):
    sim.control(api_down=True)
    mount = start_mount(sim, state=state_dir)
    assert mount.submit("early.json", {"prompt": "never sent"}).returncode == 0
    mount.kill9()
    sim.control(api_down=False)
    mount = start_mount(sim, state=state_dir)
    assert mount.wait_status("early", timeout=30) == "succeeded\n"
    assert prompts_at_sim(sim) == {"never sent": 1}


def test_download_resumes_after_a_cut_connection(start_sim, start_mount):
    sim = start_sim()
    sim.control(cut_after=1_500_000)            # every body breaks after 1.5 MB
    mount = start_mount(sim)
    assert mount.submit("cut.json", {"prompt": "flaky link"}).returncode == 0
    mount.wait_status("cut")
    task_id = wait_cached(mount, "cut", timeout=60)
    sim.control(content_off=True)
    assert read(mount.path("tasks", task_id, "video.mp4"), "rb") == read(FIXTURE, "rb")


def test_expired_url_is_refreshed_and_cache_max_evicts(start_sim, start_mount):
    sim = start_sim("--url-ttl", "2")
    mount = start_mount(sim, "dialect=ark", "cache_max=1")
    assert mount.submit("one.json", {"prompt": "first"}).returncode == 0
    mount.wait_status("one")
    first = wait_cached(mount, "one")
    assert mount.submit("two.json", {"prompt": "second"}).returncode == 0
    mount.wait_status("two")
    wait_cached(mount, "two")
    wait_until(lambda: f"cache {first}: evicted" in mount.read_log(), what="eviction")
    time.sleep(2.5)                             # the first video's signed URL expired
    assert read(mount.path("by-name", "one", "video.mp4"), "rb") == read(FIXTURE, "rb")
    assert "asking the API" in mount.read_log()


def test_a_task_whose_video_urls_are_always_expired_never_shows_succeeded(start_sim, start_mount):
    sim = start_sim("--content-mode", "redirect", "--url-ttl", "-10")
    mount = start_mount(sim)
    # The size probe follows the redirect too, so the task never shows succeeded.
    assert mount.submit("gone.json", {"prompt": "expired"}).returncode == 0
    wait_until(lambda: '"succeeded"' in read(mount.path("by-name", "gone", "task.json"))
               if os.path.exists(mount.path("by-name", "gone", "task.json")) else False,
               what="API success")
    assert read(mount.path("by-name", "gone", "status")) == "running\n"
    assert not os.path.exists(mount.path("by-name", "gone", "video.mp4"))


def test_two_daemons_cannot_share_a_state_dir(sim, start_mount, state_dir):
    start_mount(sim, state=state_dir)
    with pytest.raises(RuntimeError) as e:
        start_mount(sim, state=state_dir)
    assert "in use by another seedancefs" in str(e.value)


def test_two_daemons_do_not_retry_an_outage_in_lockstep(sim, start_mount):
    # Each daemon's retry jitter is its own (seeded per process): after one
    # outage their retries spread out instead of arriving together.
    sim.control(api_down=True)
    delays = []
    for m in (start_mount(sim), start_mount(sim)):
        mine = []
        for i in range(4):
            assert m.submit(f"j{i}.json", {"prompt": f"jitter {i}"}).returncode == 0
            reason = m.path("pending", f"j{i}", "reason")
            wait_until(lambda: "retry in" in read(reason), what="a scheduled retry")
            mine.append(re.search(r"retry in ([0-9.]+) s", read(reason)).group(1))
        delays.append(mine)
    assert delays[0] != delays[1], f"both daemons retry after {delays[0]} s"
