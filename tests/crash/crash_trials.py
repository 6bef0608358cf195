"""crash_trials.py — randomized kill -9 trials against the outbox and the cache.

    $ make crash                       # 200 trials
    $ /usr/bin/python3 tests/crash/crash_trials.py --trials 20 --seed 7
    ...
    trials=200 accepted=503 lost=0 duplicated=0 corrupt=0

Each trial starts its own simulator (so no other client's tasks exist:
the guarantee is about seedancefs's own requests), mounts a fresh
state_dir, submits 1-4 requests (cp into
requests/) while the simulator misbehaves at random (create replies held
back, 429s, the API down), kills the daemon with SIGKILL at a random moment
(before, during or after the POSTs, while polling, while downloading), then
remounts — sometimes killing it once more right after the video appeared —
and checks, for every request whose cp returned 0:
  lost        no task at the simulator for it
  duplicated  more than one task for it
  corrupt     video.mp4 differs from the source bytes
A request whose cp did not return 0 may have been accepted or not, but
must never be duplicated either. Exit status 1 when any count is non-zero.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import FIXTURE, Mount, Sim, wait_until  # noqa: E402

TERMINAL = ("succeeded", "failed", "cancelled", "expired", "rejected")


def submit_all(mount, prompts, accepted):
    for name, prompt in prompts:
        try:
            r = mount.submit(name + ".json", {"prompt": prompt, "duration": 5})
            if r.returncode == 0:
                accepted.append((name, prompt))
        except OSError:
            pass


def status_of(mount, name):
    try:
        with open(mount.path("by-name", name, "status")) as f:
            return f.read().strip()
    except OSError:
        return ""


def run_trial(rng, trial, source, stats, dialect):
    sim = Sim(["--queue-ms", "100", "--run-ms", "200"])
    try:
        run_trial_on(sim, rng, trial, source, stats, dialect)
    finally:
        sim.stop()


def run_trial_on(sim, rng, trial, source, stats, dialect):
    state = tempfile.mkdtemp(prefix=f"sdfs-crash-{trial}-")
    prompts = [(f"r{k}", f"trial {trial} request {k}") for k in range(rng.randint(1, 4))]
    sim.control(create_delay_ms=rng.choice([0, 0, 50, 200, 800]),
                create_429=rng.choice([0, 0, 0, 1, 2]), api_down=rng.random() < 0.15)
    mounts = []
    try:
        m = Mount(sim, [f"submit_wait={rng.choice([0, 0.3, 2])}", f"dialect={dialect}"],
                  state=state)
        mounts.append(m)
        accepted = []
        t = threading.Thread(target=submit_all, args=(m, prompts, accepted))
        t.start()
        time.sleep(rng.uniform(0, 1.2))
        m.kill9()
        t.join()
        sim.control(create_delay_ms=0, create_429=0, api_down=False)

        m = Mount(sim, [f"dialect={dialect}"], state=state)
        mounts.append(m)
        names = [n for n, _ in accepted]
        wait_until(lambda: all(status_of(m, n) in TERMINAL for n in names), timeout=60,
                   what=f"trial {trial}: every accepted request to finish")
        log = m.read_log()
        stats["reconciled"] += log.count("reconciling before any resend")
        stats["adopted"] += log.count("adopting task")
        if rng.random() < 0.3:                  # die again, e.g. mid-download
            time.sleep(rng.uniform(0, 0.05))
            m.kill9()
            m = Mount(sim, [f"dialect={dialect}"], state=state)
            mounts.append(m)

        counts = {}
        for task in sim.tasks():
            counts[task["prompt"]] = counts.get(task["prompt"], 0) + 1
        for name, prompt in prompts:
            n = counts.get(prompt, 0)
            if n > 1:
                stats["duplicated"] += 1
                print(f"trial {trial}: {name} has {n} tasks", flush=True)
        for name, prompt in accepted:
            stats["accepted"] += 1
            if counts.get(prompt, 0) == 0:
                stats["lost"] += 1
                print(f"trial {trial}: {name} lost (status {status_of(m, name)!r})", flush=True)
            elif status_of(m, name) == "succeeded":
                with open(m.path("by-name", name, "video.mp4"), "rb") as f:
                    if f.read() != source:
                        stats["corrupt"] += 1
                        print(f"trial {trial}: {name} video differs", flush=True)
    finally:
        for mount in mounts:
            if mount.proc.poll() is None:
                mount.unmount()
            else:
                subprocess.run(["fusermount3", "-u", "-z", mount.mnt], stderr=subprocess.DEVNULL)
                shutil.rmtree(mount.dir, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--dialects", default="gateway,ark,openai",
                    help="the trials take turns in these (comma-separated)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(FIXTURE, "rb") as f:
        source = f.read()
    stats = {"accepted": 0, "lost": 0, "duplicated": 0, "corrupt": 0, "reconciled": 0,
             "adopted": 0}
    started = time.monotonic()
    for trial in range(args.trials):
        dialects = args.dialects.split(",")
        run_trial(rng, trial, source, stats, dialects[trial % len(dialects)])
        if (trial + 1) % 20 == 0:
            print(f"... {trial + 1} trials, {stats}", flush=True)
    print(f"seed={args.seed} time={time.monotonic() - started:.0f}s "
          f"reconciled={stats['reconciled']} adopted={stats['adopted']} (POSTs caught in flight)")
    print(f"trials={args.trials} accepted={stats['accepted']} lost={stats['lost']} "
          f"duplicated={stats['duplicated']} corrupt={stats['corrupt']}")
    return 1 if stats["lost"] or stats["duplicated"] or stats["corrupt"] else 0


if __name__ == "__main__":
    sys.exit(main())
