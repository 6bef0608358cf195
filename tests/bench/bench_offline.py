"""bench_offline.py — ls, stat and cat status answer from memory, API up or down.

    $ /usr/bin/python3 tests/bench/bench_offline.py
    figure                        API up p50/p99 ms   API down p50/p99 ms   local dir p50/p99 ms

Mounts against its own simulator, submits 50 tasks, then times 200 rounds of
`ls -l tasks/`-equivalent (listdir + lstat of each entry), `stat` of a task
file and a read of `status`: once with the API up, once after the simulator
was killed (connections refused) and once with it frozen (SIGSTOP: every
connection hangs), next to the same operations on a local directory.
Benchmarks report; they assert nothing about time.
"""
import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import Mount, Sim  # noqa: E402

ROUNDS = 200


def time_ops(root, task_names):
    """p50/p99 in ms for listing, stat and reading status under `root`."""
    figures = {}
    for label, op in (
        ("ls -l tasks/", lambda: [os.lstat(os.path.join(root, "tasks", e))
                                  for e in os.listdir(os.path.join(root, "tasks"))]),
        ("stat task file", lambda: os.stat(os.path.join(root, "tasks", task_names[0], "status"))),
        ("cat status", lambda: open(os.path.join(root, "tasks", task_names[-1], "status")).read()),
    ):
        samples = []
        for _ in range(ROUNDS):
            t = time.perf_counter()
            op()
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        figures[label] = (statistics.median(samples), samples[int(len(samples) * 0.99)])
    return figures


def local_copy(mount, names):
    root = tempfile.mkdtemp(prefix="sdfs-local-")
    for n in names:
        os.makedirs(os.path.join(root, "tasks", n))
        with open(os.path.join(root, "tasks", n, "status"), "w") as f:
            f.write("succeeded\n")
    return root


def main():
    sim = Sim(["--queue-ms", "0", "--run-ms", "0"])
    mount = None
    try:
        mount = Mount(sim, ["poll_interval=0.5"])
        for i in range(50):
            assert mount.submit(f"t{i}.json", {"prompt": f"offline bench {i}"}).returncode == 0
        mount.wait_status("t49")
        names = sorted(os.listdir(mount.path("tasks")))
        up = time_ops(mount.mnt, names)
        os.kill(sim.proc.pid, signal.SIGSTOP)       # frozen: connections hang
        frozen = time_ops(mount.mnt, names)
        os.kill(sim.proc.pid, signal.SIGCONT)
        sim.stop()                                  # down: connections refused
        down = time_ops(mount.mnt, names)
        local = time_ops(local_copy(mount, names), names)
        print("seedancefs offline bench: 50 tasks; ms, p50/p99 over", ROUNDS, "rounds")
        print(f"{'figure':18} {'API up':>14} {'API frozen':>14} {'API down':>14} "
              f"{'local dir':>14} {'down/local p50':>15}")
        for label in up:
            row = [f"{a:6.3f}/{b:6.3f}" for a, b in (up[label], frozen[label], down[label],
                                                     local[label])]
            print(f"{label:18} {row[0]:>14} {row[1]:>14} {row[2]:>14} {row[3]:>14} "
                  f"{down[label][0] / local[label][0]:15.1f}")
    finally:
        if mount:
            mount.unmount()
        sim.stop()


if __name__ == "__main__":
    main()
