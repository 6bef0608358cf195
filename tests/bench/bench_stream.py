"""bench_stream.py — video.mp4 against its limits and its peers, on loopback
and over an emulated wide-area link.

    $ make bench                                   # or:
    $ /usr/bin/python3 tests/bench/bench_stream.py [--size-mb 1024] [--links loopback,wan]

For each link (loopback; 20 ms RTT + 200 mbit through tests/bench/linkproxy.py:
one FIFO bottleneck, TCP-like windows with slow start, a round trip to
connect) and each body (a synthetic 1 GiB file and a ~150 MB real MP4
with its moov atom at the end), one simulator on 127.0.0.1 serves the bytes
both as task videos and as a plain web directory (/files/), and the bench
prints, side by side:
  - cold sequential read MB/s: seedancefs (a task it never read), curl
    straight from the server, a minimal FUSE filesystem serving the file
    from memory (build/bench-memfs: the FUSE limit), httpdirfs, rclone;
  - warm sequential read MB/s (second read) vs bench-memfs and a local file;
  - ffprobe on the MP4: wall time and bytes fetched vs local ffprobe + 4
    round trips, and vs 1.1 x (moov + 1 MiB);
  - ffmpeg -ss <middle> -frames:v 1, cold and warm;
  - 1000 random 4 KiB preads: p50/p99 latency and bytes fetched, cold and warm;
  - daemon RSS after each, and with 20 concurrent readers of different videos;
  - on loopback, what a cold read costs the whole machine in CPU seconds per
    GB, and the ceiling that receiving (curl) plus delivering (memfs) alone
    puts on any daemon with this many cores.
Peers run only when installed (Debian: httpdirfs, rclone); a peer's read is
cut after --peer-cap seconds and its rate computed from what it got (an
ffmpeg run cut that way shows nan).
Each figure is also printed as a ratio to its limit. Nothing is asserted.

This machine is a VM whose memory is slow the first time a page is touched;
the bench touches some memory once first and drops the page cache before
each cold read, so cold figures measure the contenders, not the hypervisor.
"""
import argparse
import mmap
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from conftest import BUILD, Mount, Sim, create_elsewhere, wait_until  # noqa: E402
from linkproxy import LinkProxyProcess, parse_rate  # noqa: E402

DATA = os.environ.get("SEEDANCEFS_BENCH_DATA", "/var/tmp/seedancefs-bench")
MB = 1e6


# ---- inputs ----

def synthetic_body(size_mb):
    path = os.path.join(DATA, f"synthetic-{size_mb}M.bin")
    if not os.path.exists(path) or os.path.getsize(path) != size_mb << 20:
        with open(path + ".tmp", "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        os.rename(path + ".tmp", path)
    return path


def real_mp4(seconds):
    """An H.264 + AAC MP4, ~150 MB at 60 s, moov at the end (ffmpeg's default)."""
    path = os.path.join(DATA, f"real-{seconds}s.mp4")
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=duration={seconds}:size=1280x720:rate=25", "-f", "lavfi", "-i",
                        f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset",
                        "ultrafast", "-b:v", "20M", "-c:a", "aac", "-shortest", path + ".tmp.mp4"],
                       check=True)
        os.rename(path + ".tmp.mp4", path)
    return path


def mp4_boxes(path):
    """Top-level boxes of an MP4: [(type, offset, size)]."""
    boxes, size = [], os.path.getsize(path)
    with open(path, "rb") as f:
        off = 0
        while off + 8 <= size:
            f.seek(off)
            n, kind = struct.unpack(">I4s", f.read(8))
            if n == 1:
                n = struct.unpack(">Q", f.read(8))[0]
            elif n == 0:
                n = size - off
            boxes.append((kind.decode("latin-1"), off, n))
            off += n
    return boxes


def touch_memory(gib):
    """Touch memory once so later page-cache fills do not pay the VM's
    first-touch cost (seen here: 0.45 GB/s first time, 3 GB/s after)."""
    subprocess.run([sys.executable, "-c", f"b = bytearray({gib} << 30)\n"
                    "for i in range(0, len(b), 4096): b[i] = 1"], check=True)


def quiesce(sim, timeout=300):
    """Waits until the server sends nothing for a second (a background
    download of an earlier step would be counted in the next one)."""
    end, last = time.monotonic() + timeout, -1
    while time.monotonic() < end:
        now = sim.stats()["bytes_served"]
        if now == last:
            return
        last = now
        time.sleep(1)


def cpu_busy():
    """Seconds of CPU this machine has spent busy (all processes and the
    kernel; not idle, not waiting for I/O, not taken by the hypervisor)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq = map(int, f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds per GB moved while the block runs: what a read costs the
    whole machine (server, client, daemon, kernel), not just one process."""

    def __enter__(self):
        self.start = cpu_busy()
        return self

    def __exit__(self, *exc):
        self.used = cpu_busy() - self.start

    def per_gb(self, nbytes):
        return self.used / (nbytes / 1e9)


def drop_caches():
    subprocess.run("sync; echo 3 > /proc/sys/vm/drop_caches", shell=True, check=False)


# ---- measurements ----

def drop_file_pages(path):
    """Drops the page cache of one file (clean pages: all of a read-only one)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_seq(path, cap=None, block=1 << 20):
    """(seconds, bytes) for reading `path` to the end, or until `cap` seconds."""
    n, t = 0, time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(block)
            if not b:
                break
            n += len(b)
            if cap and time.perf_counter() - t > cap:
                break
    return time.perf_counter() - t, n


def read_direct(path, block=1 << 20):
    """MB/s reading `path` with O_DIRECT: no page cache, every read is a
    FUSE request, so this is the daemon's own read path."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf, n, t = mmap.mmap(-1, block), 0, time.perf_counter()
    try:
        while True:
            k = os.readv(fd, [buf])
            if k <= 0:
                break
            n += k
    finally:
        os.close(fd)
    return n / MB / (time.perf_counter() - t)


def random_reads(path, size, count=1000, block=4096, seed=1, cap=None):
    """Latencies (s) of `count` preads of `block` bytes at random offsets."""
    rng = random.Random(seed)
    lat, start = [], time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        for _ in range(count):
            off = rng.randrange(0, size - block)
            t = time.perf_counter()
            os.pread(f.fileno(), block, off)
            lat.append(time.perf_counter() - t)
            if cap and time.perf_counter() - start > cap:
                break
    lat.sort()
    return lat


def concurrent_readers(paths, pid, cap=None):
    """(peak RSS MB of `pid`, total MB/s) while one thread per path reads it
    to the end (or for `cap` seconds)."""
    peak, got, done = [0.0], [], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.05)

    def read(path):
        got.append(read_seq(path, cap=cap)[1])
    sampler = threading.Thread(target=sample)
    sampler.start()
    t = time.perf_counter()
    readers = [threading.Thread(target=read, args=(p,)) for p in paths]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    elapsed = time.perf_counter() - t
    done.set()
    sampler.join()
    return peak[0], sum(got) / MB / elapsed


def pct(lat, p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] * 1e6 if lat else float("nan")


def timed_cmd(cmd, cap=120):
    """Seconds `cmd` took (nan if it failed or ran past `cap` s). A blocking
    wait, killed by a timer at the cap: subprocess's own timeout polls with
    sleeps of up to 50 ms, which would round a 65 ms ffmpeg up to 114 ms."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timer = threading.Timer(cap, proc.kill)
    timer.start()
    try:
        rc = proc.wait()
    finally:
        timer.cancel()
    took = time.perf_counter() - t
    return took if rc == 0 else float("nan")


def ffprobe(path):
    return timed_cmd(["ffprobe", "-v", "error", "-show_format", "-show_streams", path])


def ffmpeg_seek(path, at, cap=120):
    return timed_cmd(["ffmpeg", "-v", "error", "-ss", str(at), "-i", path, "-frames:v", "1",
                      "-f", "null", "-"], cap)


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return float("nan")


# ---- contenders ----

class FuseProcess:
    """A FUSE filesystem process mounted on a fresh directory; `with` stops it."""

    def __init__(self, argv_for, ready_file, name):
        self.dir = tempfile.mkdtemp(prefix=f"sdfs-bench-{name}-")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(argv_for(self.mnt), stdout=self.log, stderr=subprocess.STDOUT)
        self.file = os.path.join(self.mnt, ready_file)
        try:
            wait_until(lambda: os.path.exists(self.file) or self.proc.poll() is not None,
                       timeout=30, what=f"{name} mount")
            if not os.path.exists(self.file):
                raise RuntimeError(f"{name} did not mount")
        except Exception:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if os.path.ismount(self.mnt):
            if subprocess.run(["fusermount3", "-u", self.mnt], stderr=subprocess.DEVNULL).returncode:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt], stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def memfs(body, direct_io=False):
    flags = ["-o", "direct_io"] if direct_io else []
    return FuseProcess(lambda mnt: [os.path.join(BUILD, "bench-memfs"), body, mnt, "-f", *flags],
                       "video.mp4", "memfs")


def httpdirfs(url):
    return FuseProcess(lambda mnt: ["httpdirfs", "-f", "--no-range-check", url, mnt],
                       "video.mp4", "httpdirfs")


def rclone(url):
    env_free = ["--config", "/dev/null"]
    return FuseProcess(lambda mnt: ["rclone", "mount", ":http:", mnt, "--http-url", url,
                                    "--read-only", *env_free], "video.mp4", "rclone")


def create_tasks(sim, n):
    return [create_elsewhere(sim, "bench", timeout=30) for _ in range(n)]


TRIALS = 3          # cold ffprobe / ffmpeg -ss: the median of this many fresh videos


class Fresh:
    """Task videos seedancefs has never read (imported: created by "another
    client", so no background download touches them before the bench does)."""

    def __init__(self, mount, ids):
        self.mount, self.ids = mount, list(ids)

    def take(self):
        return self.mount.path("tasks", self.ids.pop(0), "video.mp4")


# ---- one link, one body ----

class Table:
    def __init__(self, title):
        self.title, self.rows = title, []

    def add(self, name, ours, limit_name, limit, peers=None, higher_is_better=True):
        self.rows.append((name, ours, limit_name, limit, peers or {}, higher_is_better))

    def print(self, peer_names):
        print(f"\n== {self.title}")
        head = f"{'figure':38} {'seedancefs':>11} {'limit':>22} {'ratio':>6}"
        for p in peer_names:
            head += f" {p:>11}"
        print(head)
        for name, ours, limit_name, limit, peers, hib in self.rows:
            ratio = ours / limit if limit and limit == limit else float("nan")
            line = f"{name:38} {ours:11.2f} {limit_name + ' ' + format(limit, '.2f'):>22} {ratio:6.2f}"
            for p in peer_names:
                v = peers.get(p)
                line += f" {v:11.2f}" if isinstance(v, float) else f" {(v or '-'):>11}"
            print(line)


def bench_body(label, body, link, rtt, peers, args, mount_opts):
    """`link`: None (loopback), or (rtt_ms, rate) of the emulated link
    (tests/bench/linkproxy.py) every reader goes through: seedancefs, curl
    and the peers alike."""
    size = os.path.getsize(body)
    is_mp4 = body.endswith(".mp4")
    repeat = 1 if link else args.repeat
    tasks_needed = repeat + 3 + 2 * (TRIALS - 1) + (20 if args.concurrent and is_mp4 else 0)
    proxy = LinkProxyProcess(*link) if link else None
    try:
        sim = Sim(["--video", body, "--queue-ms", "0", "--run-ms", "0",
                   *(["--public-port", str(proxy.port)] if proxy else [])])
    except Exception:
        if proxy:
            proxy.stop()
        raise
    via = sim
    if proxy:
        proxy.connect(sim.port)
        via = types.SimpleNamespace(url=f"http://127.0.0.1:{proxy.port}")
    mount = None
    table = Table(f"{label}: {os.path.basename(body)} ({size / MB:.0f} MB)")
    try:
        ids = create_tasks(sim, tasks_needed)
        mount = Mount(via, mount_opts)
        wait_until(lambda: all(os.path.exists(mount.path("tasks", i, "video.mp4")) for i in ids),
                   timeout=120, what="import of the bench tasks")
        wait_until(lambda: all(os.path.getsize(mount.path("tasks", i, "video.mp4")) == size
                               for i in ids), timeout=120, what="video sizes")
        fresh = Fresh(mount, ids)
        served = lambda: sim.stats()["bytes_served"]  # noqa: E731
        files_url = via.url + "/files/"
        pid = mount.proc.pid

        # cold sequential (median of `repeat` never-read videos), then warm:
        # the same file again, best of 3 (complete now: page cache kept
        # across opens), then O_DIRECT so that every read reaches the daemon
        colds, warms, cpu_ours = [], [], []
        for _ in range(repeat):
            drop_caches()
            video = fresh.take()
            with CpuMeter() as cpu:
                t, _ = read_seq(video)
            colds.append(size / MB / t)
            cpu_ours.append(cpu.per_gb(size))
        rss_cold = rss_mb(pid)
        for _ in range(3):
            t, _ = read_seq(video)
            warms.append(size / MB / t)
        # More first reads through the FUSE page cache, not in it: drop the
        # mounted file's pages (the cache file's stay), as drop_caches does
        # for bench-memfs's first reads below.
        firsts = [warms[0]]
        for _ in range(max(repeat, 4)):
            drop_file_pages(video)
            t, _ = read_seq(video)
            firsts.append(size / MB / t)
        ours_cold, ours_warm = statistics.median(colds), max(warms)
        ours_direct = read_direct(video)
        complete_video = video
        curls, cpu_curl = [], []
        for _ in range(repeat):
            drop_caches()
            with CpuMeter() as cpu:
                curls.append(size / MB / timed_cmd(["curl", "-s", "-o", "/dev/null",
                                                    files_url + "video.mp4"], cap=900))
            cpu_curl.append(cpu.per_gb(size))
        curl = statistics.median(curls)
        peer_cold, peer_warm, peer_random = {}, {}, {}
        for name, start in peers.items():
            drop_caches()
            with start(files_url) as p:
                t, n = read_seq(p.file, cap=args.peer_cap)
                peer_cold[name] = n / MB / t
                t, n = read_seq(p.file, cap=args.peer_cap)
                peer_warm[name] = n / MB / t
        fs_cold = fs_warm = fs_direct = fs_lat = fs_rt_lat = cpu_fs = float("nan")
        if not link:
            with memfs(body) as m:
                fs_colds, cpu_fss = [], []
                for _ in range(repeat):
                    drop_caches()
                    with CpuMeter() as cpu:
                        t, _ = read_seq(m.file)
                    fs_colds.append(size / MB / t)
                    cpu_fss.append(cpu.per_gb(size))
                fs_cold, cpu_fs = statistics.median(fs_colds), statistics.median(cpu_fss)
                fs_warm = max(size / MB / read_seq(m.file)[0] for _ in range(3))
                fs_direct = read_direct(m.file)
                fs_lat = pct(random_reads(m.file, size, seed=2), 0.5)
            with memfs(body, direct_io=True) as m:
                fs_rt_lat = pct(random_reads(m.file, size, seed=2), 0.5)
        cold_limit = min(curl, fs_cold) if fs_cold == fs_cold else curl
        table.add("cold sequential MB/s", ours_cold,
                  "min(curl,memfs)" if fs_cold == fs_cold else "curl", cold_limit, peer_cold)
        table.add("  curl direct MB/s", curl, "", float("nan"))
        if link:
            # curl's socket tunes its window for loopback's round trip, not
            # the emulated one, so over the proxy it often gets far less than
            # the link carries: the link's own rate is the other yardstick.
            table.add("  the link's rate MB/s", parse_rate(link[1]) / MB, "", float("nan"))
        if fs_cold == fs_cold:
            table.add("  bench-memfs cold MB/s", fs_cold, "", float("nan"))
            # Any caching daemon must receive the bytes (curl's cost, the
            # server's included) and deliver them through FUSE (memfs's
            # cost, the reader's included): on this many cores, that alone
            # caps the cold rate, whatever the daemon does besides.
            receive_deliver = statistics.median(cpu_curl) + cpu_fs
            table.add("  cold: CPU s per GB, whole machine", statistics.median(cpu_ours),
                      "curl+memfs", receive_deliver, None, False)
            table.add("  cold: CPU ceiling, receive+deliver MB/s",
                      os.cpu_count() * 1000 / receive_deliver, "0.9 x limit", 0.9 * cold_limit)
            table.add("  cold: seedancefs at full CPU MB/s",
                      os.cpu_count() * 1000 / statistics.median(cpu_ours), "", float("nan"))
        subprocess.run(["cat", body], stdout=subprocess.DEVNULL)
        local = max(size / MB / read_seq(body)[0] for _ in range(3))
        if fs_warm == fs_warm:
            # The first read after the download completed goes through the
            # FUSE page cache without being in it (the cold reads bypassed
            # it), as bench-memfs's first read of its file does.
            table.add("warm, first read after download MB/s", statistics.median(firsts),
                      "memfs first", fs_cold)
            table.add("warm sequential MB/s", ours_warm, "memfs", fs_warm, peer_warm)
        table.add("warm sequential MB/s", ours_warm, "local file", local)
        if fs_direct == fs_direct:
            table.add("warm O_DIRECT 1 MiB reads MB/s", ours_direct, "memfs", fs_direct)
        table.add("daemon RSS MB after cold reads", rss_cold, "budget", 64.0)

        # ffprobe and ffmpeg -ss on the real MP4
        if is_mp4:
            moov = next((n for kind, _, n in mp4_boxes(body) if kind == "moov"), 0)
            ffprobe(body)
            t_local = statistics.median(ffprobe(body) for _ in range(5))   # page cache warm
            # Cold probes and seeks: the median over TRIALS never-read videos
            # (one sample on this VM varies by a round trip or two).
            def cold_trials(tool):
                """Median seconds and bytes fetched, and the last video used."""
                times, fetches = [], []
                for _ in range(TRIALS):
                    quiesce(sim)
                    path, before = fresh.take(), served()
                    times.append(tool(path))
                    fetches.append(served() - before)
                return statistics.median(times), statistics.median(fetches), path

            t_ours, fetched, _ = cold_trials(ffprobe)
            table.add("ffprobe s (moov at end)", t_ours, "local+4 RTT", t_local + 4 * rtt)
            table.add("  ffprobe MB fetched", fetched / MB, "1.1x(moov+1MiB)",
                      1.1 * (moov + (1 << 20)) / MB)
            for name, start in peers.items():
                with start(files_url) as p:
                    table.rows[-2][4][name] = ffprobe(p.file)
            middle = 30
            cold_seek, _, seek_path = cold_trials(lambda path: ffmpeg_seek(path, middle))
            warm_seek = ffmpeg_seek(seek_path, middle)
            ffmpeg_seek(body, middle)
            local_seek = statistics.median(ffmpeg_seek(body, middle) for _ in range(5))
            peer_seek = {}
            for name, start in peers.items():
                with start(files_url) as p:
                    peer_seek[name] = (ffmpeg_seek(p.file, middle, args.peer_cap),
                                       ffmpeg_seek(p.file, middle, args.peer_cap))
            table.add(f"ffmpeg -ss {middle} cold s", cold_seek,
                      "local+6 RTT" if rtt else "local", local_seek + 6 * rtt,
                      {k: v[0] for k, v in peer_seek.items()}, False)
            table.add(f"ffmpeg -ss {middle} warm s", warm_seek, "local", local_seek,
                      {k: v[1] for k, v in peer_seek.items()}, False)
            table.add("daemon RSS MB after ffprobe/ffmpeg", rss_mb(pid), "budget", 64.0)

        # 1000 random 4 KiB reads, cold then warm (same offsets). The video
        # stays incomplete, so its opens bypass the page cache: warm reads
        # are FUSE round trips. On a complete video they hit the page cache.
        path = fresh.take()
        quiesce(sim)
        drop_caches()
        before = served()
        cold = random_reads(path, size, seed=2)
        fetched = served() - before
        warm = random_reads(path, size, seed=2)
        random_reads(complete_video, size, seed=2)
        complete_warm = random_reads(complete_video, size, seed=2)
        subprocess.run(["cat", body], stdout=subprocess.DEVNULL)
        local_lat = random_reads(body, size, seed=2)
        for name, start in peers.items():
            with start(files_url) as p:
                b0 = served()
                lat = random_reads(p.file, size, seed=2, cap=args.peer_cap)
                peer_random[name] = (pct(lat, 0.5), (served() - b0) / (len(lat) * 4096))
        table.add("random 4K cold p50 us", pct(cold, 0.5), "-", float("nan"),
                  {k: v[0] for k, v in peer_random.items()}, False)
        table.add("random 4K cold p99 us", pct(cold, 0.99), "-", float("nan"))
        table.add("  cold: fetched / read", fetched / (1000 * 4096), "budget", 16.0,
                  {k: v[1] for k, v in peer_random.items()}, False)
        if fs_rt_lat == fs_rt_lat:
            table.add("random 4K warm p50 us (incomplete)", pct(warm, 0.5), "memfs dio x2",
                      2 * fs_rt_lat)
            table.add("random 4K warm p50 us (complete)", pct(complete_warm, 0.5), "memfs x2",
                      2 * fs_lat)
        else:
            table.add("random 4K warm p50 us (incomplete)", pct(warm, 0.5), "-", float("nan"))
            table.add("random 4K warm p50 us (complete)", pct(complete_warm, 0.5), "-",
                      float("nan"))
        table.add("random 4K warm p99 us (incomplete)", pct(warm, 0.99), "-", float("nan"))
        table.add("  local file random 4K p50 us", pct(local_lat, 0.5), "", float("nan"))
        table.add("daemon RSS MB after random reads", rss_mb(pid), "budget", 64.0)

        # 20 concurrent readers of different videos (for a peer: of the
        # server's 20 names for the same bytes, each cached apart)
        if args.concurrent and is_mp4:
            peak, rate = concurrent_readers([fresh.take() for _ in range(20)], pid)
            peer_peak, peer_rate = {}, {}
            for name, start in peers.items():
                drop_caches()
                with start(files_url) as p:
                    paths = [os.path.join(p.mnt, f"copy-{i:02d}.mp4") for i in range(1, 21)]
                    peer_peak[name], peer_rate[name] = concurrent_readers(
                        paths, p.proc.pid, args.peer_cap)
            table.add("20 readers: peak daemon RSS MB", peak, "budget", 64.0, peer_peak, False)
            table.add("20 readers: total MB/s", rate, "curl", curl, peer_rate)
    finally:
        if mount:
            mount.unmount()
        sim.stop()
        if proxy:
            proxy.stop()
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024, help="synthetic body size")
    ap.add_argument("--mp4-seconds", type=int, default=60, help="real MP4 length (~2.5 MB/s)")
    ap.add_argument("--links", default="loopback,wan")
    ap.add_argument("--latency-ms", type=int, default=20, help="the emulated link's round trip")
    ap.add_argument("--rate", default="200mbit")
    ap.add_argument("--peer-cap", type=float, default=20.0, help="seconds per peer read")
    ap.add_argument("--repeat", type=int, default=3, help="cold runs on loopback (median)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-concurrent", dest="concurrent", action="store_false")
    ap.add_argument("--mount-opts", default="", help="extra -o options for seedancefs")
    args = ap.parse_args()

    os.makedirs(DATA, exist_ok=True)
    bodies = [synthetic_body(args.size_mb), real_mp4(args.mp4_seconds)]
    peers = {}
    if not args.no_peers and shutil.which("httpdirfs"):
        peers["httpdirfs"] = lambda url: httpdirfs(url)
    if not args.no_peers and shutil.which("rclone"):
        peers["rclone"] = lambda url: rclone(url)
    touch_memory(max(2, 3 * args.size_mb // 1024))
    mount_opts = [o for o in args.mount_opts.split(",") if o]
    tables = []
    for link in args.links.split(","):
        if link == "loopback":
            link, rtt = None, 0.0
            label = "loopback"
        else:
            link = (args.latency_ms, args.rate)
            rtt = args.latency_ms / 1000
            label = (f"emulated link ({args.latency_ms} ms RTT, {args.rate}, FIFO bottleneck, "
                     f"slow start)")
        for body in bodies:
            tables.append(bench_body(label, body, link, rtt, peers, args, mount_opts))
            tables[-1].print(list(peers))
    print("\nseedancefs stream bench: figures above; ratio = seedancefs / limit "
          "(MB/s: higher is better; seconds, us, MB, fetched: lower is better)")


if __name__ == "__main__":
    main()
