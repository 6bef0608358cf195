"""bench_scale.py — 10,000 tasks: listing speed, memory, API requests.

    $ /usr/bin/python3 tests/bench/bench_scale.py
    figure                          seedancefs    limit           value   ratio

Creates 9,800 finished and 200 running tasks at its own simulator (as
another client would), mounts seedancefs (which imports them), and prints:
  - `ls -l tasks/` and `find MNT | wc -l` vs the same tree as a local directory;
  - daemon RSS;
  - how many of the imported succeeded tasks show `succeeded` right after the
    import (a sample of 200 status files), and content/CDN requests made by
    the import and the listings (none: videos are sized when looked at);
  - API requests per minute of every kind (content and CDN included) in the
    steady state after the import, against the limit of 60;
  - API requests per minute made by the poller for the 200 tasks in flight,
    with a working list endpoint and (after a remount on the same state_dir)
    with a list endpoint that answers HTML, next to ceil(in_flight / 100)
    list calls per cycle.
Benchmarks report; they assert nothing about time.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import Mount, Sim, create_elsewhere, wait_until  # noqa: E402

FINISHED, IN_FLIGHT, WINDOW = 9800, 200, 30.0


def create(sim, n, prompt):
    for _ in range(n):
        create_elsewhere(sim, prompt, timeout=5)


def timed(cmd, repeat=3):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t)
    return best


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS:"))


def local_tree(mount):
    """The same tree (names, file sizes) as a local directory."""
    root = tempfile.mkdtemp(prefix="sdfs-local-")
    for task in os.listdir(mount.path("tasks")):
        os.makedirs(os.path.join(root, "tasks", task))
        for name in ("status", "task.json", "wait"):
            with open(os.path.join(root, "tasks", task, name), "w") as f:
                f.write("x" * (10 if name == "status" else 500))
    return root


def api_per_minute(sim):
    """(GETs/min, lists/min, most list calls in one poll cycle) over WINDOW s.
    A cycle is a burst of list calls with a quiet second before it."""
    before = last = sim.stats()
    start = taken = quiet_since = time.monotonic()
    burst, most = 0, 0
    end = start + WINDOW
    while time.monotonic() < end:
        time.sleep(0.1)
        now, taken = sim.stats(), time.monotonic()
        new = now["lists_by_id"] - last["lists_by_id"]      # the poller's, not imports
        if new:
            if time.monotonic() - quiet_since > 1.0:
                burst = 0
            burst += new
            most = max(most, burst)
            quiet_since = time.monotonic()
        last = now
    scale = 60.0 / (taken - start)      # the loop overruns WINDOW a little
    return ((last["gets"] - before["gets"]) * scale,
            (last["lists"] - before["lists"]) * scale, most)


def all_requests(stats):
    # lists_by_id counts a subset of lists (the poller's).
    return sum(stats[k] for k in ("creates", "gets", "lists", "deletes", "content_requests",
                                  "cdn_requests"))


def all_per_minute(sim):
    """Requests of every kind per minute over WINDOW s."""
    before, start = all_requests(sim.stats()), time.monotonic()
    time.sleep(WINDOW)
    return (all_requests(sim.stats()) - before) * 60.0 / (time.monotonic() - start)


def main():
    sim = Sim(["--queue-ms", "0", "--run-ms", "0"])
    state = tempfile.mkdtemp(prefix="sdfs-scale-state-")
    mount = local = None
    try:
        t = time.perf_counter()
        create(sim, FINISHED, "finished long ago")
        sim.control(run_ms=3_600_000)
        create(sim, IN_FLIGHT, "still running")
        print(f"created {FINISHED + IN_FLIGHT} tasks at the simulator in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        mount = Mount(sim, ["poll_interval=3"], state=state)
        wait_until(lambda: len(os.listdir(mount.path("tasks"))) == FINISHED + IN_FLIGHT,
                   timeout=600, interval=0.5, what="import of 10,000 tasks")
        import_s = time.perf_counter() - t
        rows = []
        sample = sorted(os.listdir(mount.path("tasks")))[:FINISHED:FINISHED // 200]
        shown = sum(open(mount.path("tasks", tid, "status")).read() == "succeeded\n"
                    for tid in sample)
        rows.append(("imported succeeded shown at once (of 200)", shown, "sampled",
                     len(sample), 1.0))
        local = local_tree(mount)
        ls_ours = timed(f"ls -l {mount.path('tasks')}")
        ls_local = timed(f"ls -l {os.path.join(local, 'tasks')}")
        rows.append(("ls -l tasks/ (s)", ls_ours, "local dir", ls_local, 3.0))
        find_ours = timed(f"find {mount.mnt} | wc -l", repeat=2)
        find_local = timed(f"find {local} | wc -l", repeat=2)
        rows.append(("find MNT | wc -l (s)", find_ours, "local dir", find_local, None))
        rows.append(("daemon RSS (MB)", rss_mb(mount.proc.pid), "limit", 40.0, 1.0))
        st = sim.stats()
        rows.append(("content+CDN requests after import + ls + find", st["content_requests"] +
                     st["cdn_requests"], "-", float("nan"), None))
        time.sleep(3)       # past the first polls of just-imported tasks (every 0.5 s)
        rows.append(("all API req/min, steady state", all_per_minute(sim), "limit", 60.0, 1.0))
        gets, lists, per_cycle = api_per_minute(sim)
        rows.append(("poller API req/min, list works", gets + lists, "-", float("nan"), None))
        rows.append(("  most list calls in one cycle", per_cycle,
                     "ceil(n/100)", math.ceil(IN_FLIGHT / 100), 1.0))
        mount.unmount()
        mount = None

        sim.control(list_broken=True)
        t = time.perf_counter()
        mount = Mount(sim, ["poll_interval=3"], state=state)
        restart_s = time.perf_counter() - t
        time.sleep(2)       # steady state: the budget is a bucket of max_rps calls, full after a pause
        gets, lists, _ = api_per_minute(sim)
        rows.append(("poller API req/min, list broken", gets + lists, "max_rps*60", 600.0, 1.0))
        rows.append(("daemon RSS after restart (MB)", rss_mb(mount.proc.pid), "limit", 40.0, 1.0))

        print(f"imported 10,000 tasks in {import_s:.1f} s; remount from the store in {restart_s:.2f} s")
        print(f"{'figure':40} {'seedancefs':>11}  {'limit':12} {'value':>9}  {'ratio':>6}  {'target':>6}")
        for name, ours, limit_name, limit, target in rows:
            ratio = ours / limit if limit == limit and limit else float("nan")
            print(f"{name:40} {ours:11.3f}  {limit_name:12} {limit:9.3f}  {ratio:6.2f}  "
                  f"{'<= ' + format(target, '.0f') if target else '':>6}")
    finally:
        if mount:
            mount.unmount()
        sim.stop()
        shutil.rmtree(state, ignore_errors=True)
        if local:
            shutil.rmtree(local, ignore_errors=True)


if __name__ == "__main__":
    main()
