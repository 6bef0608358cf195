"""fault_matrix.py — every operation against each fault the simulator can
inject (tests/sim/sim-faults.h), counting what a user would lose trust over.

    $ make faults                                  # 2 rounds of every fault
    $ /usr/bin/python3 tests/faults/fault_matrix.py --rounds 1 --only 503,gzip
    ...
    calls=2874 faulted=1131 hangs=0 wrong_bytes=0 lost=0 duplicated=0

Each round of a fault: a fresh simulator and mount; the fault on every
(odd rounds) or every other (even rounds) matching call (submit, poll,
list, delete, content, CDN); three
requests submitted with cp, waited for, their videos read whole, the
tasks listed and one removed, all while faulted; then the fault off, every
accepted request waited for, and every video read again. Counted:
  hangs        an operation still blocked after HANG_SECONDS
  wrong_bytes  a read that returned bytes other than the video's (an error
               is allowed while faulted; wrong bytes never are)
  lost         an accepted request with no task at the simulator and not
               held in pending/ either (a 429 asking for a day pauses the
               mount for API_MAX_RETRY_AFTER, 300 s: such requests are "held")
  duplicated   a request with more than one task
  daemon_errors  a daemon that did not exit 0 after unmount (under
               make faults-asan / faults-valgrind: a memory error)
Exit status 1 when any count is non-zero.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import FIXTURE, Mount, Sim  # noqa: E402

HANG_SECONDS = 60                   # --hang-seconds
ALL = "create,get,list,delete,content,cdn"
FAULTS = [
    ("503", ALL), ("429", ALL), ("429_huge", ALL), ("429_bare", ALL),
    ("html_200", ALL), ("html_404", ALL), ("truncated", ALL),
    ("nested", "create,get,list"), ("oversized", "get,list"), ("hostile_id", "create,get,list"),
    ("reset", ALL), ("stall", "get,list,content"), ("gzip", "content,cdn"),
    ("shifted_range", "content,cdn"), ("size_change", "content,cdn"),
    ("redirect_loop", ALL), ("cross_host", "content"), ("expired_url", "content"),
    ("interim_flood", ALL), ("length_cut", ALL), ("length_short", "content,cdn"),
    ("trickle", ALL), ("refused", ALL),
]
REDIRECTING = ("cross_host", "expired_url")     # faults of the CDN redirect
TERMINAL = ("succeeded", "failed", "cancelled", "expired", "rejected")


class Counts(dict):
    def __init__(self):
        super().__init__(calls=0, faulted=0, hangs=0, wrong_bytes=0, lost=0, duplicated=0,
                         errors=0, held=0, daemon_errors=0)


def bounded(counts, what, fn, *args):
    """Runs fn(*args) with a hang detector; its exception counts as an error."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args)
        except OSError as e:
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(HANG_SECONDS)
    if t.is_alive():
        counts["hangs"] += 1
        print(f"  hang: {what}", flush=True)
        return None
    if "error" in out:
        counts["errors"] += 1
        return None
    return out.get("value")


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def status_of(m, name):
    try:
        with open(m.path("by-name", name, "status")) as f:
            return f.read().strip()
    except OSError:
        try:
            with open(m.path("pending", name, "status")) as f:
                return f.read().strip()
        except OSError:
            return ""


def wait_terminal(m, names, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(status_of(m, n) in TERMINAL for n in names):
            return True
        time.sleep(0.1)
    return False


def check_video(counts, m, name, source, what):
    path = m.path("by-name", name, "video.mp4")
    data = bounded(counts, f"{what} read {name}", read_file, path)
    if data is not None and data != source:
        counts["wrong_bytes"] += 1
        print(f"  wrong bytes: {what} {name} ({len(data)} of {len(source)})", flush=True)


def when_up(fn, **kw):
    """fn(**kw), retried while the simulator's port is closed (the refused fault)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return fn(**kw)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def one_round(fault, ops, rnd, source, counts, dialect):
    # Rounds 1 and 2 of 4 serve content by a redirect to the CDN, so that
    # its calls get the faults too.
    redirect = fault in REDIRECTING or rnd % 4 in (1, 2)
    sim = Sim(["--queue-ms", "100", "--run-ms", "300",
               "--content-mode", "redirect" if redirect else "range"])
    m = None
    try:
        m = Mount(sim, ["timeout=5", "read_timeout=15", f"dialect={dialect}"])
        # Odd rounds fault every matching call (nothing gets through until
        # it ends), even ones every other call (retries get through).
        sim.control(fault=fault, fault_every=1 if rnd % 2 else 2, fault_ops=ops,
                    fault_seconds=3)
        names = [f"{fault}-{rnd}-{k}" for k in range(3)]
        accepted = []
        for n in names:
            r = bounded(counts, f"submit {n}", m.submit, n + ".json",
                        {"prompt": f"fault {fault} round {rnd} {n}"})
            if r is not None and r.returncode == 0:
                accepted.append(n)
        wait_terminal(m, accepted, 8)
        for n in accepted:
            if status_of(m, n) == "succeeded":
                check_video(counts, m, n, source, "faulted")
        bounded(counts, "ls tasks", os.listdir, m.path("tasks"))
        if accepted and status_of(m, accepted[0]) in TERMINAL:
            target = os.path.realpath(m.path("by-name", accepted[0]))
            bounded(counts, "rmdir", os.rmdir, target)
            accepted = accepted[1:]     # removed (or refused): its task may go
            removed = names[0]
        else:
            removed = None
        when_up(sim.control, fault="")
        counts["faulted"] += sim.stats()["faults_hit"]
        if not wait_terminal(m, accepted, 60):
            print(f"  {fault}: not all final after the fault ended", flush=True)
        for n in accepted:
            if status_of(m, n) == "succeeded":
                check_video(counts, m, n, source, "after")
        stats = sim.stats()
        # Faulted calls never reach the handlers that count: add them.
        counts["calls"] += stats["faults_hit"] + sum(
            stats.get(k, 0) for k in ("creates", "gets", "lists", "deletes", "content_requests",
                                      "cdn_requests"))
        prompts = {}
        for t in sim.tasks():
            if not t.get("deleted"):
                prompts[t["prompt"]] = prompts.get(t["prompt"], 0) + 1
        for n in names:
            k = prompts.get(f"fault {fault} round {rnd} {n}", 0)
            if k > 1:
                counts["duplicated"] += 1
                print(f"  duplicated: {n} ({k} tasks)", flush=True)
            if n in accepted and k == 0 and status_of(m, n) == "pending":
                counts["held"] += 1             # durable, waiting out the pause
            elif n in accepted and k == 0:
                counts["lost"] += 1
                print(f"  lost: {n} (status {status_of(m, n)!r})", flush=True)
        del removed
    finally:
        if m is not None:
            try:
                m.unmount()
            except Exception:
                subprocess.run(["fusermount3", "-u", "-z", m.mnt], stderr=subprocess.DEVNULL)
            # A clean unmount exits 0; under ASan or valgrind a memory error does not.
            if m.returncode != 0:
                counts["daemon_errors"] += 1
                print(f"  daemon exit status {m.returncode} ({fault} round {rnd})", flush=True)
        sim.stop()


def main():
    global HANG_SECONDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated fault names")
    ap.add_argument("--dialects", default="gateway,openai",
                    help="the rounds take turns in these")
    ap.add_argument("--hang-seconds", type=float, default=HANG_SECONDS,
                    help="an operation blocked this long is a hang (valgrind: more)")
    args = ap.parse_args()
    HANG_SECONDS = args.hang_seconds
    source = read_file(FIXTURE)
    only = set(filter(None, args.only.split(",")))
    dialects = args.dialects.split(",")
    total = Counts()
    started = time.monotonic()
    for fault, ops in FAULTS:
        if only and fault not in only:
            continue
        c = Counts()
        for rnd in range(args.rounds):
            one_round(fault, ops, rnd, source, c, dialects[rnd % len(dialects)])
        print(f"fault {fault:14} calls={c['calls']:4} faulted={c['faulted']:4} "
              f"errors={c['errors']} held={c['held']} hangs={c['hangs']} "
              f"wrong_bytes={c['wrong_bytes']} "
              f"lost={c['lost']} duplicated={c['duplicated']} "
              f"daemon_errors={c['daemon_errors']}", flush=True)
        for k in total:
            total[k] += c[k]
    print(f"time={time.monotonic() - started:.0f}s")
    print(" ".join(f"{k}={total[k]}" for k in ("calls", "faulted", "hangs", "wrong_bytes",
                                                "lost", "duplicated", "daemon_errors")))
    bad = (total["hangs"] + total["wrong_bytes"] + total["lost"] + total["duplicated"] +
           total["daemon_errors"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
