"""Frugal polling, import of tasks made elsewhere, rate limits."""
import os

from conftest import create_elsewhere, wait_until


def test_tasks_created_elsewhere_appear_in_tasks(sim, start_mount):
    other = create_elsewhere(sim, "made by another machine")
    mount = start_mount(sim)
    wait_until(lambda: other in os.listdir(mount.path("tasks")), what="import")
    assert os.listdir(mount.path("by-name")) == []        # no name: not ours
    wait_until(lambda: open(mount.path("tasks", other, "status")).read() == "succeeded\n",
               what="imported task polled")
    with open(mount.path("tasks", other, "video.mp4"), "rb") as f:
        assert f.read(8)[4:] == b"ftyp"


def test_import_can_be_turned_off(sim, start_mount):
    other = create_elsewhere(sim, "not for this mount")
    mount = start_mount(sim, "import=0")
    assert mount.submit("mine.json", {"prompt": "mine"}).returncode == 0
    mount.wait_status("mine")
    assert other not in os.listdir(mount.path("tasks"))
    assert len(os.listdir(mount.path("tasks"))) == 1


def test_polling_goes_through_the_list_endpoint(start_sim, start_mount):
    sim = start_sim("--queue-ms", "1000", "--run-ms", "2000")
    ids = [create_elsewhere(sim, f"batch {i}") for i in range(150)]
    mount = start_mount(sim)
    wait_until(lambda: all(open(mount.path("tasks", i, "status")).read() == "succeeded\n"
                           for i in ids if os.path.exists(mount.path("tasks", i))) and
               len(os.listdir(mount.path("tasks"))) == 150, timeout=60, what="150 tasks done")
    stats = sim.stats()
    assert stats["gets"] == 0           # every poll of 150 tasks went through list calls
    assert stats["lists"] >= 2


def test_a_broken_list_endpoint_falls_back_to_one_get_per_task(sim, start_mount):
    sim.control(list_broken=True)
    mount = start_mount(sim)
    for i in range(3):
        assert mount.submit(f"b{i}.json", {"prompt": f"no list {i}"}).returncode == 0
    for i in range(3):
        assert mount.wait_status(f"b{i}") == "succeeded\n"
    assert "polling one task at a time" in mount.read_log()
    assert sim.stats()["gets"] > 0


def test_429_storm_slows_the_poller_instead_of_failing_tasks(start_sim, start_mount):
    sim = start_sim("--queue-ms", "500", "--run-ms", "500")
    mount = start_mount(sim)
    assert mount.submit("storm.json", {"prompt": "rate limited polls"}).returncode == 0
    sim.control(api_429=15)
    assert mount.wait_status("storm", timeout=90) == "succeeded\n"
    assert "pausing API calls" in mount.read_log()
    assert os.path.exists(mount.path("by-name", "storm", "video.mp4"))


def test_unmount_in_the_middle_of_one_get_per_task_polling_exits_cleanly(start_sim, start_mount):
    # The poller stops between two GETs; the tasks it did not reach yet
    # wait for the next mount instead of being applied as empty polls.
    sim = start_sim("--queue-ms", "0", "--run-ms", "3600000")
    ids = [create_elsewhere(sim, f"long {i}") for i in range(60)]
    mount = start_mount(sim, "max_rps=5")
    wait_until(lambda: len(os.listdir(mount.path("tasks"))) == len(ids), timeout=30,
               what="import of 60 tasks")
    sim.control(list_broken=True)
    wait_until(lambda: sim.stats()["gets"] >= 3, timeout=30, what="one GET per task")
    mount.unmount()
    assert mount.returncode == 0
    assert sim.stats()["gets"] < len(ids)       # it stopped mid-cycle
