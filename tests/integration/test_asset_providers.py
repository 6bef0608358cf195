"""The shipped provider profiles (Volcengine, BytePlus, EasyRouter) against
the simulator's reading of each provider's asset API: the same shell steps
for every provider, with only assets_profile and assets_url changed."""
import errno
import json
import os
import subprocess
import urllib.request

import pytest

from conftest import FIXTURE, KEY, ROOT, wait_until

AK, SK = "AKSIM-0001", "sk-sim-secret-0001"
CONSENT = {"subject": "Alice Example", "authorized_by": "Alice Example",
           "usage": "advertising videos, 2027"}
# provider: (simulator dialect, profile, environment with its credentials)
PROVIDERS = {
    "volcengine": ("volcengine", {"VOLC_ACCESSKEY": AK, "VOLC_SECRETKEY": SK}),
    "byteplus": ("byteplus", {"BYTEPLUS_ACCESSKEY": AK, "BYTEPLUS_SECRETKEY": SK}),
    "easyrouter": ("easyrouter", {"EASYROUTER_API_KEY": KEY}),
    "yingtu": ("yingtu", {"LAOZHANG_API_KEY": KEY}),
}


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def sh(cmd):
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)


def profile_of(provider, tmp_path, **changes):
    """The shipped profile, or a copy with its human steps' expiry changed."""
    path = os.path.join(ROOT, "profiles", provider + ".json")
    if not changes:
        return path
    prof = json.loads(read(path))
    for kind in prof["kinds"].values():
        for step in kind.get("create", []):
            if "human" in step:
                step["human"].update(changes)
    out = tmp_path / (provider + ".json")
    out.write_text(json.dumps(prof))
    return str(out)


def liveness(sim, token, passed=True):
    req = urllib.request.Request(sim.url + "/sim/liveness", method="POST",
                                 data=json.dumps({"token": token, "pass": passed}).encode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def start(start_sim, start_mount, provider, tmp_path, **changes):
    dialect, env = PROVIDERS[provider]
    sim = start_sim("--assets-dialect", dialect, "--verify-ms", "600")
    mount = start_mount(sim, f"assets_profile={profile_of(provider, tmp_path, **changes)}",
                        f"assets_url={sim.url}", env=env)
    return sim, mount


def draft(mount, kind, name, url):
    base = mount.path("assets", kind, name)
    os.mkdir(base)
    write(os.path.join(base, "authorization.json"), json.dumps(CONSENT))
    write(os.path.join(base, "source", "face.url"), url + "\n")
    return base


def token_of(link):
    return link.strip().split("token=")[1]


def verify_person(sim, base, callback=True, passed=True):
    """A person opens the link; the browser's address goes into `callback`."""
    wait_until(lambda: os.path.exists(os.path.join(base, "link")), what="link")
    assert read(os.path.join(base, "status")).startswith("verifying: a person must open")
    answer = liveness(sim, token_of(read(os.path.join(base, "link"))), passed)
    if callback:
        write(os.path.join(base, "callback"), answer["callback"] + "\n")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_virtual_human_and_real_person_in_one_task(start_sim, start_mount, provider, tmp_path):
    sim, mount = start(start_sim, start_mount, provider, tmp_path)
    host = draft(mount, "virtual-human", "host", "https://cdn.example.com/host.png")
    assert sh(f"touch '{host}/create'").returncode == 0
    alice = draft(mount, "real-person", "alice", "https://cdn.example.com/alice.jpg")
    assert sh(f"touch '{alice}/create'").returncode == 0
    verify_person(sim, alice)
    assert mount.submit("duo.json", {"prompt": "Image 1 meets Image 2",
                                     "assets": ["alice", "host"]}).returncode == 0
    wait_until(lambda: read(os.path.join(alice, "status")) == "active\n", what="alice active")
    wait_until(lambda: read(os.path.join(host, "status")) == "active\n", what="host active")
    assert not os.path.exists(os.path.join(alice, "link"))
    assert mount.wait_status("duo") == "succeeded\n"
    sent = json.loads(read(mount.path("by-name", "duo", "request.json")))
    urls = [c["image_url"]["url"] for c in sent["content"] if c["type"] == "image_url"]
    ids = [read(os.path.join(p, "id")).strip() for p in (alice, host)]
    if provider == "yingtu":        # the gateway's uri, as it returned it, not its id
        assert all(u.startswith("asset://asset-") for u in urls) and ids[0].startswith("yt_")
    else:
        assert urls == ["asset://" + i for i in ids]
    with open(mount.path("by-name", "duo", "video.mp4"), "rb") as f:
        assert f.read(12)[4:8] == b"ftyp"
    # A second asset of the verified person: no second liveness check.
    sessions = sim.stats()["liveness_sessions"]
    again = draft(mount, "real-person", "alice-2", "https://cdn.example.com/alice-2.jpg")
    write(os.path.join(again, "reuse"), "alice\n")
    assert sh(f"touch '{again}/create'").returncode == 0
    wait_until(lambda: read(os.path.join(again, "status")) == "active\n", what="reuse active")
    assert not os.path.exists(os.path.join(again, "link"))
    assert sim.stats()["liveness_sessions"] == sessions
    stats = sim.stats()
    if provider in ("volcengine", "byteplus"):
        assert stats["signatures_ok"] > 0 and stats["signatures_bad"] == 0
    # The credentials show up nowhere a user or another process can read.
    blob = sh(f"cat '{mount.log_path}'; cat /proc/{mount.proc.pid}/cmdline "
              f"/proc/{mount.proc.pid}/environ; grep -r . '{mount.mnt}/assets' "
              f"'{mount.state}' 2>/dev/null; strings '{mount.state}/state.db'").stdout
    for secret in (AK, SK) if provider in ("volcengine", "byteplus") else (KEY,):
        assert secret not in blob


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_face_mismatch_ends_failed(start_sim, start_mount, provider, tmp_path):
    sim, mount = start(start_sim, start_mount, provider, tmp_path)
    bob = draft(mount, "real-person", "bob", "https://cdn.example.com/mismatch.jpg")
    assert sh(f"touch '{bob}/create'").returncode == 0
    verify_person(sim, bob)
    wait_until(lambda: read(os.path.join(bob, "status")).startswith("failed: "), what="failed")
    assert "does not match" in read(os.path.join(bob, "status"))
    r = mount.submit("late.json", {"prompt": "x", "assets": ["bob"]})
    assert r.returncode != 0 and "failed" in read(mount.path("requests", "late.error"))


@pytest.mark.parametrize("provider", ["volcengine", "easyrouter", "yingtu"])
def test_expired_link_says_so_and_touch_create_starts_again(start_sim, start_mount, provider,
                                                             tmp_path):
    sim, mount = start(start_sim, start_mount, provider, tmp_path, expires_in=1)
    carol = draft(mount, "real-person", "carol", "https://cdn.example.com/carol.jpg")
    assert sh(f"touch '{carol}/create'").returncode == 0
    first = read(os.path.join(carol, "link"))
    wait_until(lambda: read(os.path.join(carol, "status")).startswith("expired: "),
               what="expired")
    assert "touch create" in read(os.path.join(carol, "status"))
    assert not os.path.exists(os.path.join(carol, "link"))
    assert sh(f"touch '{carol}/create'").returncode == 0
    assert read(os.path.join(carol, "link")) != first


def test_local_files_refused_where_the_provider_takes_urls(start_sim, start_mount, tmp_path):
    sim, mount = start(start_sim, start_mount, "volcengine", tmp_path)
    base = mount.path("assets", "virtual-human", "pic")
    os.mkdir(base)
    r = sh(f"echo x > '{base}/source/face.jpg'")
    assert r.returncode != 0
    assert "source/NAME.url" in read(os.path.join(base, "error"))
    write(os.path.join(base, "source", "face.url"), "not a url\n")
    write(os.path.join(base, "authorization.json"), json.dumps(CONSENT))
    r = sh(f"touch '{base}/create'")
    assert r.returncode != 0 and "one http:// or https:// URL" in read(os.path.join(base, "error"))
    assert read(os.path.join(base, "status")) == "draft\n"


def test_missing_credentials_stop_the_mount_with_a_reason(start_sim, tmp_path):
    from conftest import Mount
    sim = start_sim("--assets-dialect", "volcengine")
    with pytest.raises(RuntimeError) as e:
        Mount(sim, [f"assets_profile={profile_of('volcengine', tmp_path)}"],
              env={"VOLC_ACCESSKEY": None, "VOLC_SECRETKEY": None})
    assert "VOLC_ACCESSKEY" in str(e.value)


def test_no_provider_knowledge_in_the_code():
    """Endpoint paths, actions and field names live in profiles only."""
    r = subprocess.run(["grep", "-rnE", "Action=|CreateAsset|GroupId|BytedToken|H5Link|"
                        "verification_url|asset://|real-persons|visual-validate",
                        os.path.join(ROOT, "src"), os.path.join(ROOT, "include")],
                       capture_output=True, text=True)
    assert r.stdout == ""


def test_restart_during_the_liveness_wait_resumes_it(start_sim, start_mount, tmp_path,
                                                     state_dir):
    dialect, env = PROVIDERS["volcengine"]
    sim = start_sim("--assets-dialect", dialect, "--verify-ms", "300")
    options = [f"assets_profile={profile_of('volcengine', tmp_path)}", f"assets_url={sim.url}"]
    mount = start_mount(sim, *options, env=env, state=state_dir)
    erin = draft(mount, "real-person", "erin", "https://cdn.example.com/erin.jpg")
    assert sh(f"touch '{erin}/create'").returncode == 0
    link = read(os.path.join(erin, "link"))
    mount.unmount()
    mount = start_mount(sim, *options, env=env, state=state_dir)
    erin = mount.path("assets", "real-person", "erin")
    assert read(os.path.join(erin, "link")) == link             # the same session, resumed
    assert read(os.path.join(erin, "status")).startswith("verifying: ")
    liveness(sim, token_of(link))                               # no callback: the poll sees it
    wait_until(lambda: read(os.path.join(erin, "status")) == "active\n", what="active")
    assert sim.stats()["liveness_sessions"] == 1


def test_a_late_or_foreign_callback_is_refused(start_sim, start_mount, tmp_path):
    sim, mount = start(start_sim, start_mount, "volcengine", tmp_path)
    fay = draft(mount, "real-person", "fay", "https://cdn.example.com/fay.jpg")
    # No link waits yet: there is no callback file to write.
    assert not os.path.exists(os.path.join(fay, "callback"))
    assert sh(f"touch '{fay}/create'").returncode == 0
    with pytest.raises(OSError) as e:                # close() says it, as cp would
        write(os.path.join(fay, "callback"), "https://localhost/cb?nothing=here\n")
    assert e.value.errno == errno.EINVAL
    assert "no resultCode parameter" in read(os.path.join(fay, "error"))
    with pytest.raises(OSError):
        write(os.path.join(fay, "callback"),
              "https://localhost/cb?bytedToken=x&resultCode=40001\n")
    assert read(os.path.join(fay, "status")) == \
        "failed: the check did not succeed (result_code=40001)\n"
    assert not os.path.exists(os.path.join(fay, "link"))


LIBRARY = {"volcengine": "asset-lib-0001", "byteplus": "asset-lib-0001",
           "easyrouter": "asset-lib-0001", "yingtu": "yt_lib_0001"}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_library_can_be_browsed_selected_and_deleted(start_sim, start_mount, provider,
                                                         tmp_path):
    sim, mount = start(start_sim, start_mount, provider, tmp_path)
    kind = mount.path("assets", "virtual-human")
    first, second = LIBRARY[provider], LIBRARY[provider].replace("0001", "0002")
    wait_until(lambda: first in os.listdir(kind), what="the library listed")
    assert second in os.listdir(kind)
    assert read(os.path.join(kind, first, "status")) == "active\n"
    assert read(os.path.join(kind, first, "id")) == first + "\n"
    with pytest.raises(OSError):                       # the provider's, read-only
        write(os.path.join(kind, first, "status"), "x")
    # ls + echo ID > select: a library virtual human in a task.
    host = os.path.join(kind, "host")
    os.mkdir(host)
    write(os.path.join(host, "authorization.json"), json.dumps(CONSENT))
    write(os.path.join(host, "select"), first + "\n")
    wait_until(lambda: read(os.path.join(host, "status")) == "active\n", what="selected")
    assert mount.submit("solo.json", {"prompt": "Image 1 waves", "assets": ["host"]}).returncode == 0
    assert mount.wait_status("solo") == "succeeded\n"
    # rmdir of a library entry deletes it at the provider.
    os.rmdir(os.path.join(kind, second))
    assert second not in os.listdir(kind)
    assert sim.stats()["assets_deleted"] == 1
    # rmdir of a local asset the provider holds deletes it there too; the
    # provider's next list no longer has it.
    own = draft(mount, "virtual-human", "mine", "https://cdn.example.com/mine.png")
    assert sh(f"touch '{own}/create'").returncode == 0
    wait_until(lambda: read(os.path.join(own, "status")) == "active\n", what="mine active")
    os.rmdir(own)
    assert "mine" not in os.listdir(kind)
    assert sim.stats()["assets_deleted"] == 2
    r = mount.submit("gone.json", {"prompt": "x", "assets": ["mine"]})
    assert r.returncode != 0


def test_local_files_are_uploaded_where_the_profile_has_an_upload_step(start_sim, start_mount):
    """APIYI: presign, PUT the bytes (without any key), ingest, poll."""
    sim = start_sim("--assets-dialect", "apiyi", "--verify-ms", "300")
    mount = start_mount(sim, "assets_profile=" + os.path.join(ROOT, "profiles", "apiyi.json"),
                        f"assets_url={sim.url}", env={"APIYI_ASSET_KEY": KEY})
    base = mount.path("assets", "virtual-human", "host")
    os.mkdir(base)
    write(os.path.join(base, "authorization.json"), json.dumps(CONSENT))
    assert sh(f"cp {FIXTURE} '{base}/source/host.mp4'").returncode == 0
    assert sh(f"touch '{base}/create'").returncode == 0
    wait_until(lambda: read(os.path.join(base, "status")) == "active\n", what="ingested")
    assert sim.stats()["upload_auth_leaks"] == 0
    assert mount.submit("solo.json", {"prompt": "Video 1", "assets": ["host"]}).returncode == 0
    assert mount.wait_status("solo") == "succeeded\n"
    sent = json.loads(read(mount.path("by-name", "solo", "request.json")))
    assert [c["type"] for c in sent["content"]][-1] == "video_url"   # its media type


def test_a_persons_material_url_may_not_go_out_as_a_plain_reference(start_sim, start_mount,
                                                                     tmp_path):
    sim, mount = start(start_sim, start_mount, "volcengine", tmp_path)
    draft(mount, "real-person", "gus", "https://cdn.example.com/gus.jpg")
    r = mount.submit("raw.json", {"prompt": "x", "first_frame": "https://cdn.example.com/gus.jpg"})
    assert r.returncode != 0
    assert "real-person/gus may not go out as a plain URL" in read(mount.path("requests",
                                                                             "raw.error"))
    assert mount.submit("other.json", {"prompt": "x", "first_frame":
                                       "https://cdn.example.com/other.jpg"}).returncode == 0
