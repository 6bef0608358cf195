"""Mounting it like sshfs: mount(8) and fstab, systemd (notify socket,
credentials, state directory), ownership and umask, df, logging, SIGHUP key
rotation, the config file, install and packaging."""
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess

import pytest

from conftest import BUILD, FIXTURE, KEY, ROOT, holder_of, pid_alive, wait_until

DAEMON = os.path.join(BUILD, "seedancefs")
is_root = os.geteuid() == 0


def daemon_env(**changes):
    """The test's environment without a key, with `changes` (None unsets)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SEEDANCE_API_KEY", "ARK_API_KEY")}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def mount_source(mnt):
    with open("/proc/self/mounts") as f:
        return [line.split()[0] for line in f if line.split()[1] == mnt]


def write_key(path, key=KEY):
    path.write_text(key + "\n")
    path.chmod(0o600)


@pytest.mark.skipif(not is_root or not shutil.which("unshare"), reason="needs root and unshare")
def test_mount_t_fuse_seedancefs_and_fstab_mount_a_twice(sim, tmp_path):
    """What fstab users do: `mount -t fuse.seedancefs URL MNT -o ...,_netdev,nofail`,
    then an fstab line with `mount -a` twice (one mount), `umount`. It runs
    in a private mount namespace, where a bind mount puts the daemon in
    /usr/local/bin (mount(8) runs helpers with a fixed PATH); every mount
    made there ends with the namespace."""
    mnt, state, key, fstab = (str(tmp_path / n) for n in ("mnt", "state", "key", "fstab"))
    os.makedirs(mnt)
    write_key(tmp_path / "key")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "seedancefs").symlink_to(DAEMON)
    opts = f"key_file={key},state_dir={state},poll_interval=0.2,_netdev,nofail"
    with open(fstab, "w") as f:
        f.write(f"# test fstab\n{sim.url} {mnt} fuse.seedancefs {opts} 0 0\n")
    script = f"""
set -e
mount --bind {bindir} /usr/local/bin
trap 'umount {mnt} 2>/dev/null || umount -l {mnt} 2>/dev/null || true' EXIT
released() {{ for i in $(seq 300); do flock -n {state}/lock true && return 0; sleep 0.1; done; return 1; }}
mount -t fuse.seedancefs {sim.url} {mnt} -o {opts}
echo "source=$(awk '$2 == "{mnt}" {{print $1}}' /proc/self/mounts)"
echo '{{"prompt": "mounted by mount(8)"}}' > {mnt}/requests/m.json
echo "status=$(cat {mnt}/by-name/m/wait)"
cmp {mnt}/by-name/m/video.mp4 {FIXTURE} && echo video=same
echo "df=$(df -P -B1 {mnt} | tail -1 | awk '{{print $2, $3}}')"
umount {mnt}
released && echo released=1
mount -a -T {fstab}
mount -a -T {fstab}
echo "mounts=$(awk '$2 == "{mnt}"' /proc/self/mounts | wc -l)"
echo "status2=$(cat {mnt}/by-name/m/status)"
umount {mnt}
released && echo released=2
"""
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120)
    finally:
        try:                                # a daemon left behind: stopped by PID
            os.kill(holder_of(os.path.join(state, "lock")), signal.SIGKILL)
        except (RuntimeError, OSError):
            pass
    out = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert out["source"] == sim.url
    assert out["status"] == "succeeded" and out["video"] == "same"
    size, used = map(int, out["df"].split())
    assert size > 0 and used >= os.path.getsize(FIXTURE)
    assert out["mounts"] == "1", "mount -a mounted it twice"
    assert out["status2"] == "succeeded"    # the remount kept the task
    assert out["released"] == "2"
    assert not mount_source(mnt)


def test_options_mount_programs_pass_are_accepted_and_the_source_is_the_api_url(sim, start_mount):
    m = start_mount(sim, "_netdev", "nofail", "noauto", "auto", "user", "users", "defaults",
                    "x-systemd.automount", "x-systemd.idle-timeout=60", "comment=test",
                    "rw", "dev", "suid", "exec")
    assert mount_source(m.mnt) == [sim.url]
    r = m.submit("opts.json", {"prompt": "ignored options"})
    assert r.returncode == 0, r.stderr


def test_the_first_argument_is_the_api_url_and_api_url_wins_over_it(sim, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = daemon_env(SEEDANCE_API_KEY=KEY)
    # SOURCE alone names the API ...
    proc = subprocess.Popen([DAEMON, sim.url, str(mnt), "-f", "-o",
                             f"state_dir={tmp_path / 'st'},poll_interval=0.2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: os.path.ismount(mnt) or proc.poll() is not None, what="mount")
        assert os.path.ismount(mnt), proc.stderr.read()
        (mnt / "requests" / "src.json").write_text('{"prompt": "source is the url"}')
        assert (mnt / "by-name" / "src" / "wait").read_text() == "succeeded\n"
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)])
        assert proc.wait(timeout=60) == 0
        proc.stderr.close()
    # ... a SOURCE that is no URL is only the name the mount shows.
    r = subprocess.run([DAEMON, "seedancefs", str(mnt), "-f", "-o", f"state_dir={tmp_path / 'st'}"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "api_url" in r.stderr
    r = subprocess.run([DAEMON, "a", "b", str(mnt)], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "too many" in r.stderr


def test_type_notify_hears_ready_reloading_and_stopping(sim, start_mount):
    name = f"sdfs-notify-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)                     # abstract, as systemd's own socket may be
    s.settimeout(30)
    try:
        m = start_mount(sim, env={"NOTIFY_SOCKET": "@" + name})
        assert s.recv(4096) == b"READY=1"
        os.kill(m.proc.pid, signal.SIGHUP)
        assert s.recv(4096).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
        assert s.recv(4096) == b"READY=1"
        assert os.path.ismount(m.mnt)
        m.stop()
        assert m.returncode == 0
        assert s.recv(4096) == b"STOPPING=1"
    finally:
        s.close()


def test_sighup_rereads_the_key_file_and_the_mount_uses_the_new_key(sim, start_mount, tmp_path):
    key_file = tmp_path / "key"
    write_key(key_file)
    m = start_mount(sim, f"key_file={key_file}", "submit_wait=15", env_key=False)
    assert m.submit("old.json", {"prompt": "old key"}).returncode == 0
    m.wait_status("old")
    new_key = "sk-rotated-" + "42ab" * 6
    sim.control(key=new_key)                # the provider rotated the key
    r = m.submit("refused.json", {"prompt": "old key, refused"})
    assert r.returncode != 0 and "Permission denied" in r.stderr
    write_key(key_file, new_key)
    os.kill(m.proc.pid, signal.SIGHUP)
    wait_until(lambda: "key read again" in m.read_log(), what="the key to be read again")
    assert os.path.ismount(m.mnt)
    r = m.submit("new.json", {"prompt": "new key"})
    assert r.returncode == 0, r.stderr
    assert m.status("new") == "succeeded\n" or m.wait_status("new") == "succeeded\n"
    log = m.read_log()
    assert KEY not in log and new_key not in log
    # A key file that went missing keeps the key in use, and says so.
    key_file.unlink()
    os.kill(m.proc.pid, signal.SIGHUP)
    wait_until(lambda: "the old key stays in use" in m.read_log(), what="the error line")
    assert m.submit("still.json", {"prompt": "still the new key"}).returncode == 0


def as_nobody(*cmd):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not is_root or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_uid_gid_umask_show_in_stat_and_decide_who_may_submit(sim, start_mount):
    nobody = pwd.getpwuid(65534).pw_name
    # allow_other alone: others may look, only the owner (root) may write.
    m = start_mount(sim, "allow_other")
    os.chmod(m.dir, 0o755)
    st = os.stat(m.path("requests"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755)
    assert as_nobody("ls", m.path("tasks")).returncode == 0
    r = as_nobody("sh", "-c", f"echo '{{\"prompt\": \"x\"}}' > {m.path('requests', 'no.json')}")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    # Owned by nobody, group-writable: nobody submits, reads and deletes.
    m2 = start_mount(sim, "allow_other", f"uid={nobody}", "gid=65534", "umask=002")
    os.chmod(m2.dir, 0o755)
    for path, mode in (("", 0o555), ("requests", 0o775), ("tasks", 0o775), ("README", 0o444)):
        st = os.stat(m2.path(path))
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, mode), path
    r = as_nobody("sh", "-c", f"echo '{{\"prompt\": \"by nobody\"}}' > {m2.path('requests', 'n.json')}"
                  f" && cat {m2.path('by-name', 'n', 'wait')}")
    assert r.returncode == 0 and r.stdout == "succeeded\n", r.stderr
    st = os.stat(m2.path("requests", "n.json"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (65534, 0o444)
    task = os.path.basename(os.readlink(m2.path("by-name", "n")))
    r = as_nobody("rmdir", m2.path("tasks", task))
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(m2.path("tasks", task))


def test_df_shows_the_cache_and_the_tasks(sim, start_mount):
    m = start_mount(sim, "cache_max=64M")
    sv = os.statvfs(m.mnt)
    assert sv.f_blocks * sv.f_frsize == 64 << 20
    assert sv.f_bfree == sv.f_blocks            # nothing cached yet
    assert m.submit("df.json", {"prompt": "fill the cache"}).returncode == 0
    m.wait_status("df")
    with open(os.path.join(m.task_dir("df"), "video.mp4"), "rb") as f:
        assert f.read() == open(FIXTURE, "rb").read()
    sv = os.statvfs(m.mnt)
    used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize
    assert os.path.getsize(FIXTURE) <= used <= os.path.getsize(FIXTURE) + (64 << 10)
    assert sv.f_bavail == sv.f_bfree and sv.f_files - sv.f_ffree == 1
    r = subprocess.run(["df", "-h"], capture_output=True, text=True, timeout=30)
    assert m.mnt in r.stdout                # GNU df hides file systems of size 0


def test_a_config_file_applies_and_the_command_line_and_environment_win(sim, start_mount, tmp_path):
    conf = tmp_path / "config"
    conf.write_text("# seedancefs options\n\n"
                    "api_url = http://127.0.0.1:9\n"           # -o api_url= wins
                    "key_file=/nonexistent/key\n"               # SEEDANCE_API_KEY wins
                    "cache_max = 48M\n"                         # nothing else says
                    "  model=doubao-seedance-2-0-260128 \n")
    m = start_mount(sim, f"config={conf}")
    sv = os.statvfs(m.mnt)
    assert sv.f_blocks * sv.f_frsize == 48 << 20
    r = m.submit("conf.json", {"prompt": "config file"})
    assert r.returncode == 0, r.stderr
    assert m.wait_status("conf") == "succeeded\n"
    # The default file: $XDG_CONFIG_HOME/seedancefs/config.
    xdg = tmp_path / "xdg"
    (xdg / "seedancefs").mkdir(parents=True)
    (xdg / "seedancefs" / "config").write_text("cache_max=40M\n")
    m2 = start_mount(sim, env={"XDG_CONFIG_HOME": str(xdg)})
    sv = os.statvfs(m2.mnt)
    assert sv.f_blocks * sv.f_frsize == 40 << 20
    # The fstab SOURCE is part of the command line: a file's api_url does not
    # beat it; $STATE_DIRECTORY beats the file's state_dir; '#' after a
    # blank starts a comment; the file's FUSE options lose to argv's.
    mnt3, service_state = tmp_path / "mnt3", tmp_path / "service-state"
    mnt3.mkdir()
    conf.write_text(f"api_url = http://127.0.0.1:9   # the wrong one\n"
                    f"state_dir = {tmp_path / 'file-state'}\nro\n")
    proc = subprocess.Popen([DAEMON, sim.url, str(mnt3), "-f", "-o", f"config={conf},rw"],
                            env=daemon_env(SEEDANCE_API_KEY=KEY, STATE_DIRECTORY=str(service_state)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: os.path.ismount(mnt3) or proc.poll() is not None, what="mount")
        assert os.path.ismount(mnt3), proc.stderr.read()
        (mnt3 / "requests" / "src.json").write_text('{"prompt": "source wins"}')   # rw won
        wait_until(lambda: (mnt3 / "by-name" / "src" / "status").read_text() == "succeeded\n",
                   what="the task at SOURCE's API")
        assert (service_state / "state.db").exists() and not (tmp_path / "file-state").exists()
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt3)])
        assert proc.wait(timeout=60) == 0
        proc.stderr.close()
    # The key itself in the file is refused, without echoing it.
    conf.write_text(f"api_key = {KEY}\n")
    r = subprocess.run([DAEMON, str(tmp_path), "-o", f"config={conf},api_url={sim.url}"],
                       env=daemon_env(SEEDANCE_API_KEY=KEY), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "key_file" in r.stderr and KEY not in r.stderr + r.stdout
    # A line that is no option is a one-line error naming file and line.
    conf.write_text("cache_max=1G\n-f\n")
    r = subprocess.run([DAEMON, str(tmp_path), "-o", f"config={conf},api_url={sim.url}"],
                       env=daemon_env(SEEDANCE_API_KEY=KEY), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and f"{conf}:2" in r.stderr


def test_log_file_level_and_journal_prefixes(sim, start_mount, tmp_path):
    log = tmp_path / "own.log"
    m = start_mount(sim, f"log={log}")
    wait_until(lambda: log.exists() and "mounted" in log.read_text(), what="the mounted line")
    assert "mounted" not in m.read_log()        # stderr has none of it
    m.stop()
    # log_level=error: info lines are dropped, errors stay.
    key_file = tmp_path / "key"
    write_key(key_file)
    m = start_mount(sim, "log_level=error", f"key_file={key_file}", env_key=False)
    key_file.unlink()
    os.kill(m.proc.pid, signal.SIGHUP)
    wait_until(lambda: "old key stays in use" in m.read_log(), what="the error line")
    assert "mounted" not in m.read_log() and "error: SIGHUP" in m.read_log()
    m.stop()
    # stderr is the journal: level prefixes, no time stamps.
    d = tmp_path / "journal"
    d.mkdir()
    (d / "daemon.log").write_text("")
    st = os.stat(d / "daemon.log")
    m = start_mount(sim, dir=str(d), env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    wait_until(lambda: "mounted" in m.read_log(), what="the mounted line")
    first = [line for line in m.read_log().splitlines() if "mounted" in line][0]
    assert first.startswith("<6>mounted "), first
    r = subprocess.run([DAEMON, str(tmp_path), "-o", f"api_url={sim.url},log=stderr"],
                       env=daemon_env(SEEDANCE_API_KEY=KEY), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "needs -f" in r.stderr


def test_state_and_key_come_from_systemd_and_never_from_tmp(sim, start_mount, tmp_path):
    no_home = daemon_env(HOME=None, XDG_STATE_HOME=None, STATE_DIRECTORY=None,
                         SEEDANCE_API_KEY=KEY)
    r = subprocess.run([DAEMON, str(tmp_path), "-f", "-o", f"api_url={sim.url}"], env=no_home,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no state_dir" in r.stderr
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "seedance_api_key").write_text(KEY + "\n")
    (creds / "seedance_api_key").chmod(0o400)
    state = tmp_path / "service-state"
    m = start_mount(sim, env_key=False, state_option=False, state=str(state),
                    env={"HOME": None, "STATE_DIRECTORY": str(state),
                         "CREDENTIALS_DIRECTORY": str(creds)})
    r = m.submit("svc.json", {"prompt": "as a service"})
    assert r.returncode == 0, r.stderr
    assert m.wait_status("svc") == "succeeded\n"
    assert (state / "state.db").exists()
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700


def make(*args):
    return subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def help_options():
    """The option names --help lists ("-o NAME=..." and ", NAME=...")."""
    r = subprocess.run([DAEMON, "--help"], capture_output=True, text=True, timeout=30)
    return sorted(set(re.findall(r"(?:-o |, )([a-z_]+)=", r.stdout)))


@pytest.mark.skipif(not shutil.which("man"), reason="needs man-db")
def test_make_install_lays_out_the_daemon_man_page_and_unit(tmp_path):
    dest = tmp_path / "root"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    daemon = dest / "usr/bin/seedancefs"
    assert os.access(daemon, os.X_OK)
    assert subprocess.run([str(daemon), "--version"], capture_output=True).returncode == 0
    page = dest / "usr/share/man/man1/seedancefs.1.gz"
    unit = (dest / "usr/lib/systemd/system/seedancefs@.service").read_text()
    assert "ExecStart=/usr/bin/seedancefs %f -f" in unit and "Type=notify" in unit
    assert (dest / "usr/share/doc/seedancefs/README.md").exists()
    env = dict(os.environ, MANWIDTH="80")
    r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for opt in ("api_url=", "key_file=", "uid=", "umask=", "log=", "config=", "_netdev",
                "SIGHUP", "EEXIST", "fuse.seedancefs", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY"):
        assert opt in r.stdout, opt
    # Every option --help names is in the page.
    names = help_options()
    assert len(names) >= 20 and "gid" in names
    for name in names:
        assert name + "=" in r.stdout, name
    r = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    assert left == [], left


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    prefix = tmp_path / "prefix"
    r = make("install", f"PREFIX={prefix}")
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "seedancefs@mnt-sd.service"
    shutil.copy(prefix / "lib/systemd/system/seedancefs@.service", unit)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=str(prefix / "share/man")), timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


@pytest.mark.skipif(not is_root or not shutil.which("dpkg-deb"), reason="needs root and dpkg")
def test_make_deb_builds_a_package_that_installs_and_removes_cleanly(tmp_path):
    r = make("deb")
    assert r.returncode == 0, r.stderr
    version = subprocess.run([os.path.join(ROOT, "build", "seedancefs"), "--version"],
                             capture_output=True, text=True).stdout.split()[1]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    deb = os.path.join(ROOT, "build", f"seedancefs_{version}_{arch}.deb")
    depends = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True,
                             text=True).stdout.strip().split(", ")
    assert "fuse3" in depends and any(d.startswith("libfuse3-") for d in depends), depends
    for package in depends:                 # each one exists here, by this machine's name
        assert subprocess.run(["dpkg", "-s", package], capture_output=True).returncode == 0, package
    # Into a scratch root with its own dpkg database: the machine's stays as it was.
    root = tmp_path / "root"
    admin = root / "var/lib/dpkg"
    for d in ("info", "updates", "triggers"):
        (admin / d).mkdir(parents=True)
    (admin / "status").write_text("")
    dpkg = ["dpkg", f"--root={root}", "--force-depends", "--force-script-chrootless"]
    r = subprocess.run([*dpkg, "-i", deb], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.access(root / "usr/bin/seedancefs", os.X_OK)
    assert (root / "usr/share/man/man1/seedancefs.1.gz").exists()
    r = subprocess.run([*dpkg, "-r", "seedancefs"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not (root / "usr/bin/seedancefs").exists()
    left = [f for f in os.listdir(root / "usr/share/man/man1")] if (root / "usr/share/man/man1").exists() else []
    assert left == []
