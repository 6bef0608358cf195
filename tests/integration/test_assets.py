"""Real-person and virtual-human assets: each step from the shell, the gate,
two differently shaped profiles, restart during verification."""
import errno
import json
import os
import subprocess

import pytest

from conftest import FIXTURE, ROOT, wait_until

SIM_PROFILE = os.path.join(ROOT, "profiles", "sim.json")
ALT_PROFILE = os.path.join(ROOT, "tests", "profiles", "alt.json")
CONSENT = {"subject": "Alice Example", "authorized_by": "Alice Example",
           "usage": "advertising videos, 2027"}


def read(path):
    with open(path) as f:
        return f.read()


def sh(cmd):
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)


def make_real_person(mount, name):
    base = mount.path("assets", "real-person", name)
    os.mkdir(base)
    assert read(os.path.join(base, "status")) == "draft\n"
    assert sh(f"cp {FIXTURE} '{base}/source/face.mp4'").returncode == 0
    # Nothing goes out before the authorization.
    r = sh(f"touch '{base}/create'")
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert "authorization.json" in read(os.path.join(base, "error"))
    with open(os.path.join(base, "authorization.json"), "w") as f:
        json.dump(CONSENT, f)
    assert sh(f"touch '{base}/create'").returncode == 0
    return base


def make_virtual_human(mount, name, library_id):
    base = mount.path("assets", "virtual-human", name)
    os.mkdir(base)
    with open(os.path.join(base, "authorization.json"), "w") as f:
        json.dump(dict(CONSENT, subject="studio host"), f)
    with open(os.path.join(base, "select"), "w") as f:
        f.write(library_id + "\n")
    return base


def test_without_a_profile_assets_are_not_launched(mount):
    assert "not launched" in read(mount.path("assets", "README"))
    with pytest.raises(OSError) as e:
        os.mkdir(mount.path("assets", "real-person"))
    assert e.value.errno in (errno.EPERM, errno.ENOENT)
    r = mount.submit("a.json", {"prompt": "x", "assets": ["alice"]})
    assert r.returncode != 0 and "not launched" in read(mount.path("requests", "a.error"))


@pytest.mark.parametrize("dialect,profile_path,library_id,ref_prefix", [
    ("sim", SIM_PROFILE, "vh-lib-0001", "asset://"),
    ("alt", ALT_PROFILE, "lib-host-01", "character:"),
])
def test_held_request_goes_out_when_both_assets_are_active(start_sim, start_mount, dialect,
                                                           profile_path, library_id, ref_prefix):
    sim = start_sim("--assets-dialect", dialect, "--verify-ms", "1500")
    mount = start_mount(sim, f"assets_profile={profile_path}")
    alice = make_real_person(mount, "alice")
    host = make_virtual_human(mount, "host", library_id)
    assert read(os.path.join(alice, "status")) in ("pending\n", "verifying\n")
    alice_id = read(os.path.join(alice, "id")).strip()
    assert mount.submit("duo.json", {"prompt": "alice meets the host",
                                     "assets": ["alice", "host"]}).returncode == 0
    # Held, with the reason readable, never sent while alice is being verified.
    assert os.readlink(mount.path("by-name", "duo")) == "../pending/duo"
    assert "waiting for asset real-person/alice" in read(mount.path("pending", "duo", "reason"))
    assert sim.stats()["creates"] == 0
    wait_until(lambda: read(os.path.join(alice, "status")) == "active\n", what="verification")
    assert read(os.path.join(host, "status")) == "active\n"
    assert mount.wait_status("duo") == "succeeded\n"
    sent = json.loads(read(mount.path("by-name", "duo", "request.json")))
    urls = [c["image_url"]["url"] for c in sent["content"] if c["type"] == "image_url"]
    assert urls == [ref_prefix + alice_id, ref_prefix + library_id]
    assert "assets" not in sent
    # Material and consent are fixed once sent.
    with pytest.raises(OSError):
        open(os.path.join(alice, "authorization.json"), "w").close()


def test_failed_verification_refuses_requests(start_sim, start_mount):
    sim = start_sim("--verify-ms", "800")
    mount = start_mount(sim, f"assets_profile={SIM_PROFILE}")
    bob = make_real_person(mount, "bob #reject")
    assert mount.submit("early.json", {"prompt": "x", "assets": ["bob #reject"]}).returncode == 0
    wait_until(lambda: read(os.path.join(bob, "status")).startswith("failed: "), what="failure")
    assert "liveness" in read(os.path.join(bob, "status"))
    wait_until(lambda: read(mount.path("pending", "early", "status")) == "rejected\n",
               what="held request rejected")
    assert read(mount.path("by-name", "early", "wait")) == "rejected\n"
    r = mount.submit("late.json", {"prompt": "x", "assets": ["bob #reject"]})
    assert r.returncode != 0 and "failed" in read(mount.path("requests", "late.error"))
    assert sim.stats()["creates"] == 0


def test_real_person_material_as_a_plain_url_is_refused(start_sim, start_mount):
    sim = start_sim()
    mount = start_mount(sim, f"assets_profile={SIM_PROFILE}")
    make_real_person(mount, "carol")
    face = mount.path("assets", "real-person", "carol", "source", "face.mp4")
    r = mount.submit("raw.json", {"prompt": "x", "first_frame": face})
    assert r.returncode != 0
    assert "may not go out as a plain image_url" in read(mount.path("requests", "raw.error"))
    with open(FIXTURE, "rb") as f:
        import base64
        data = "data:video/mp4;base64," + base64.b64encode(f.read()).decode()
    r = mount.submit("raw2.json", {"prompt": "x", "reference_videos": [data]})
    assert r.returncode != 0 and "data: URL" in read(mount.path("requests", "raw2.error"))
    assert sim.stats()["creates"] == 0


def test_restart_in_the_middle_of_verification(start_sim, start_mount, state_dir):
    sim = start_sim("--verify-ms", "3000")
    mount = start_mount(sim, f"assets_profile={SIM_PROFILE}", state=state_dir)
    dave = make_real_person(mount, "dave")
    assert mount.submit("solo.json", {"prompt": "dave", "assets": ["dave"]}).returncode == 0
    mount.unmount()
    mount = start_mount(sim, f"assets_profile={SIM_PROFILE}", state=state_dir)
    dave = mount.path("assets", "real-person", "dave")
    assert read(os.path.join(dave, "status")) in ("pending\n", "verifying\n", "active\n")
    assert mount.wait_status("solo", timeout=30) == "succeeded\n"
    assert read(os.path.join(dave, "status")) == "active\n"
    assert sim.stats()["asset_creates"] == 1
