"""The key stays secret even from a gateway that echoes it: not in any file
of the mount, the log, the state directory, argv or the environment block."""
import os

import pytest

from conftest import KEY, WRAPPED, wait_until


def files_under(root):
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            yield os.path.join(dirpath, name)


def holding_key(paths):
    found = []
    for path in paths:
        if os.path.basename(path) in ("wait", "events"):     # block by design
            continue
        try:
            with open(path, "rb") as f:
                if KEY.encode() in f.read():
                    found.append(path)
        except OSError:
            pass
    return found


def test_an_echoing_gateway_never_gets_the_key_into_a_file(start_sim, start_mount):
    sim = start_sim("--queue-ms", "0", "--run-ms", "0")
    sim.control(echo_key=True)
    mount = start_mount(sim)
    assert mount.submit("ok.json", {"prompt": "fine"}).returncode == 0
    assert mount.submit("bad.json", {"prompt": "ends badly #fail"}).returncode == 0
    # Valid here (a 1.x model takes 3 s), refused by the API, whose message echoes the key.
    refused = mount.submit("refused.json", {"model": "doubao-seedance-1-0-pro-250528",
                                            "content": [{"type": "text", "text": "x"}],
                                            "duration": 3})
    assert refused.returncode != 0
    mount.wait_status("ok")
    mount.wait_status("bad")
    assert mount.status("bad") == "failed\n"
    sim.control(api_down=True)                      # 503s that echo the key
    assert mount.submit("later.json", {"prompt": "waits"}).returncode == 0
    wait_until(lambda: "attempt" in open(mount.path("pending", "later", "reason")).read(),
               what="a failed attempt")
    assert "[key]" in open(mount.path("requests", "refused.error")).read()
    assert "[key]" in open(mount.path("pending", "later", "reason")).read()
    pid = mount.proc.pid
    leaks = holding_key(files_under(mount.mnt))
    leaks += holding_key(files_under(mount.state))
    leaks += holding_key([mount.log_path, f"/proc/{pid}/cmdline"])
    if not WRAPPED:                                 # valgrind keeps its own copy
        leaks += holding_key([f"/proc/{pid}/environ"])
    assert leaks == []


@pytest.mark.skipif(WRAPPED, reason="under valgrind /proc/PID/environ is valgrind's copy,"
                    " which the daemon cannot reach")
def test_the_key_leaves_the_environment_block(sim, start_mount):
    mount = start_mount(sim)                        # SEEDANCE_API_KEY in its environment
    with open(f"/proc/{mount.proc.pid}/environ", "rb") as f:
        assert KEY.encode() not in f.read()
