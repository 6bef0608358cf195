"""examples/watch-folder.sh with 50 jobs against the simulator."""
import os
import signal
import subprocess
import time

from conftest import FIXTURE, ROOT, wait_until


def test_watch_folder_turns_50_prompts_into_videos(start_sim, start_mount, tmp_path):
    sim = start_sim("--queue-ms", "300", "--run-ms", "700")
    mount = start_mount(sim, "submit_wait=0")
    inbox, outbox = tmp_path / "inbox", tmp_path / "videos"
    inbox.mkdir()
    (inbox / "early.txt").write_text("already waiting when the script starts\n")
    script = subprocess.Popen([os.path.join(ROOT, "examples", "watch-folder.sh"),
                               str(inbox), mount.mnt, str(outbox)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        for i in range(46):
            (inbox / f"job{i:02}.json").write_text(f'{{"prompt": "job {i}", "duration": 5}}')
        (inbox / "moved.txt.tmp").write_text("moved in by rename")
        os.rename(inbox / "moved.txt.tmp", inbox / "moved.txt")
        (inbox / "bad1.json").write_text('{"prompt": "this one fails #fail"}')
        (inbox / "broken.json").write_text('{"prompt": ')
        want = {f"job{i:02}.mp4" for i in range(46)} | {"early.mp4", "moved.mp4",
                                                       "bad1.failed", "broken.rejected"}
        wait_until(lambda: want <= set(os.listdir(outbox)), timeout=120, interval=0.2,
                   what="50 results in the outbox")
        with open(FIXTURE, "rb") as f:
            source = f.read()
        for name in want:
            if name.endswith(".mp4"):
                assert (outbox / name).read_bytes() == source, name
        assert (outbox / "bad1.failed").read_text().startswith("failed\n")
        assert "PolicyViolation" in (outbox / "bad1.failed").read_text()
        assert "invalid JSON" in (outbox / "broken.rejected").read_text()
        assert not any(n.endswith(".part") for n in os.listdir(outbox))
        assert sorted(os.listdir(inbox / ".submitted")) == sorted(
            [f"job{i:02}.json" for i in range(46)] + ["early.txt", "moved.txt", "bad1.json",
                                                       "broken.json"])
        assert sim.stats()["creates"] == 49
    finally:
        os.killpg(script.pid, signal.SIGTERM)
        script.wait(timeout=10)
