"""The command line: a public interface scripts and fstab lines depend on."""
import os
import subprocess
import tempfile

from conftest import BUILD, KEY

DAEMON = os.path.join(BUILD, "seedancefs")


def run(*args, key=True):
    env = {k: v for k, v in os.environ.items() if k not in ("SEEDANCE_API_KEY", "ARK_API_KEY")}
    if key:
        env["SEEDANCE_API_KEY"] = KEY
    return subprocess.run([DAEMON, *args], env=env, capture_output=True, text=True, timeout=30)


def test_help_lists_every_option_and_exits_zero():
    r = run("--help")
    assert r.returncode == 0
    for opt in ("api_url=", "dialect=", "key_file=", "state_dir=", "model=", "poll_interval=",
                "read_timeout="):
        assert opt in r.stdout


def test_version_exits_zero():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("seedancefs ")


def test_missing_key_is_a_one_line_error(tmp_path):
    r = run(str(tmp_path), "-o", "api_url=http://127.0.0.1:9", key=False)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "SEEDANCE_API_KEY" in r.stderr


def test_missing_mountpoint_is_a_one_line_error(tmp_path):
    r = run(str(tmp_path / "nope"), "-o", "api_url=http://127.0.0.1:9")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "No such file" in r.stderr


def test_bad_options_are_one_line_errors(tmp_path):
    for opts in ("dialect=soap,api_url=http://x", "api_url=ftp://x", "poll_interval=zero,api_url=http://x",
                 "state_dir=/proc/nope/x,api_url=http://x", "key_file=/nonexistent,api_url=http://x",
                 "readahead=lots,api_url=http://x", "readahead=1G,api_url=http://x",
                 "read_timeout=0,api_url=http://x", "read_timeout=1m,api_url=http://x"):
        r = run(str(tmp_path), "-o", opts)
        assert r.returncode == 1, opts
        assert r.stderr.count("\n") == 1, (opts, r.stderr)
    r = run(str(tmp_path))
    assert r.returncode == 1 and "api_url" in r.stderr


def test_unknown_fuse_option_exits_one(tmp_path):
    state = tempfile.mkdtemp()
    r = run(str(tmp_path), "-f", "-o", f"api_url=http://127.0.0.1:9,state_dir={state},no_such_opt")
    assert r.returncode == 1 and "no_such_opt" in r.stderr


def test_key_file_is_read_and_key_never_in_argv(sim, start_mount, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o644)                   # others may read it: refused, as ssh does
    r = run(str(tmp_path), "-f", "-o", f"api_url={sim.url},key_file={key_file},"
            f"state_dir={tmp_path / 'st'}", key=False)
    assert r.returncode == 1 and "chmod 600" in r.stderr and KEY not in r.stderr
    key_file.chmod(0o600)
    m = start_mount(sim, f"key_file={key_file}", env_key=False)
    with open(f"/proc/{m.proc.pid}/cmdline", "rb") as f:
        assert KEY.encode() not in f.read()
    with open(f"/proc/{m.proc.pid}/environ", "rb") as f:
        assert KEY.encode() not in f.read()
    r = m.submit("k.json", {"prompt": "key file works"})
    assert r.returncode == 0, r.stderr
    m.wait_status("k")
    assert m.status("k") == "succeeded\n"
