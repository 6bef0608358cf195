"""bench_stream.py — video.mp4 read throughput against its limits.

    $ make bench
    cold sequential (MB/s)   seedancefs  ...   curl direct  ...   ratio ...

Starts its own simulator on 127.0.0.1 serving a synthetic body, mounts
seedancefs, and prints in one run:
  - cold sequential read of video.mp4 vs curl straight from the simulator;
  - warm sequential read (second read, page cache / chunk cache) vs a local file;
  - 1000 random 4 KiB preads: p50/p99 latency and bytes fetched from the server;
  - daemon RSS after each.
Benchmarks report; they assert nothing about time.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import BUILD, KEY, Mount, Sim, wait_until  # noqa: E402


def read_all(path, block=1 << 20):
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(block)
            if not b:
                return n
            n += len(b)


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def random_reads(path, size, count=1000, block=4096, seed=1):
    rng = random.Random(seed)
    lat = []
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        for _ in range(count):
            off = rng.randrange(0, size - block)
            t = time.perf_counter()
            os.pread(fd, block, off)
            lat.append(time.perf_counter() - t)
    lat.sort()
    return lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=256)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sdfs-bench-")
    body = os.path.join(work, "body.bin")
    with open(body, "wb") as f:
        f.write(os.urandom(args.size_mb << 20))
    size = os.path.getsize(body)
    sim = Sim(["--video", body, "--queue-ms", "0", "--run-ms", "0"])
    mount = None
    try:
        mount = Mount(sim)
        assert mount.submit("bench.json", {"prompt": "bench"}).returncode == 0
        mount.wait_status("bench")
        video = mount.path("by-name", "bench", "video.mp4")
        mb = size / 1e6
        rows = []

        t_curl, _ = timed(lambda: subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-H", f"Authorization: Bearer {KEY}",
             f"{sim.url}/v1/videos/{os.path.basename(os.readlink(mount.path('by-name', 'bench')))}/content"],
            check=True))
        before = sim.stats()["bytes_served"]
        t_cold, n = timed(lambda: read_all(video))
        assert n == size
        fetched = sim.stats()["bytes_served"] - before
        rows.append(("cold sequential MB/s", mb / t_cold, "curl direct", mb / t_curl))
        rows.append(("  bytes fetched / file size", fetched / size, "ideal", 1.0))
        rss_cold = rss_mb(mount.proc.pid)

        subprocess.run(["cat", body], stdout=subprocess.DEVNULL)
        t_local, _ = timed(lambda: read_all(body))
        t_warm, _ = timed(lambda: read_all(video))
        rows.append(("warm sequential MB/s", mb / t_warm, "local file", mb / t_local))

        before = sim.stats()["bytes_served"]
        p50, p99 = random_reads(video, size, seed=2)
        fetched = sim.stats()["bytes_served"] - before
        lp50, lp99 = random_reads(body, size, seed=2)
        rows.append(("random 4K p50 us", p50, "local file", lp50))
        rows.append(("random 4K p99 us", p99, "local file", lp99))
        rows.append(("  random: bytes fetched / bytes read", fetched / (1000 * 4096), "ideal", 1.0))
        rows.append(("daemon RSS MB (after cold)", rss_cold, "-", float("nan")))
        rows.append(("daemon RSS MB (end)", rss_mb(mount.proc.pid), "-", float("nan")))

        print(f"seedancefs stream bench: {args.size_mb} MiB body, loopback, simulator in range mode")
        print(f"{'figure':40} {'seedancefs':>12}  {'limit':12} {'value':>12}  {'ratio':>7}")
        for name, ours, limit_name, limit in rows:
            ratio = ours / limit if limit == limit and limit else float("nan")
            print(f"{name:40} {ours:12.2f}  {limit_name:12} {limit:12.2f}  {ratio:7.2f}")
    finally:
        if mount:
            mount.unmount()
        sim.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
