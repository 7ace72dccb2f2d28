"""Guarantee 1: baselines are never lost or half-written.

Baseline updates (and prunes) are SIGKILLed at random moments, many times over. After every
kill each earlier version is byte-for-byte what it was, every version reads back whole, and
the version being written is either complete or absent. Concurrent updates land as separate
versions, or one is refused with a one-line message; never a corrupt file.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from cortexbench.store.versions import BaselineStore, load_version
from tests.reliability import _store_faults
from tests.reliability.tally import fault

KILLS_ANYWHERE = 25  # at a uniformly random moment of the whole update
KILLS_IN_WRITE = 35  # at a random moment after the update's temporary file appears
PRUNE_KILLS = 10
SEED = 20240607


@pytest.fixture(scope="module")
def context():
    """Victims are forked from a server that has pandas, pyarrow and cortexbench loaded, so
    they start in milliseconds and a random delay lands inside the update, not the start-up."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.reliability._warm_store_faults"])
    return context


def identity(path: Path) -> tuple[int, int, int]:
    """Replacing or rewriting a file changes one of these."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_files(folder: Path) -> set[Path]:
    return set(folder.glob(".*.tmp"))


class Victim:
    """A process about to run ``target`` once ``go`` is set; we kill it whenever we like."""

    def __init__(self, context, target, *args) -> None:
        self.ready, self.go = context.Event(), context.Event()
        self.process = context.Process(target=target, args=(*args, self.ready, self.go))
        self.process.start()
        assert self.ready.wait(30), "the victim did not start"

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(30)
        assert self.process.exitcode == -signal.SIGKILL


def _time_victims(context, store: Path, count: int = 3) -> tuple[float, float]:
    """Seconds a victim takes for a whole update and for its write (from its temporary file
    to its version): the longest of ``count`` updates left to finish, so the kills span both."""
    folder = store / "main"
    wholes, writes = [], []
    for index in range(count):
        before = set(folder.glob("v*.parquet")) if folder.exists() else set()
        leftovers = temp_files(folder) if folder.exists() else set()
        victim = Victim(context, _store_faults.update_when_told, str(store), f"timing-{index}")
        victim.go.set()
        started, temp_seen = time.perf_counter(), None
        while time.perf_counter() - started < 30:
            if temp_seen is None and folder.exists() and temp_files(folder) - leftovers:
                temp_seen = time.perf_counter()
            if folder.exists() and set(folder.glob("v*.parquet")) - before:
                break
            time.sleep(0.0005)
        ended = time.perf_counter()
        victim.kill()
        wholes.append(ended - started)
        writes.append(ended - (temp_seen or started))
    return max(wholes), max(writes)


def test_updates_killed_at_random_never_lose_or_corrupt_a_version(tmp_path, context):
    rng = random.Random(SEED)
    store = tmp_path / "store"
    folder = store / "main"
    whole, write = _time_victims(context, store)
    known = {v.version: identity(v.path) for v in BaselineStore(store, "main").versions()}
    digests = {v.version: digest(v.path) for v in BaselineStore(store, "main").versions()}
    outcomes = {"version landed whole": 0, "killed inside the write": 0, "nothing written": 0}

    plan = ["anywhere"] * KILLS_ANYWHERE + ["in write"] * KILLS_IN_WRITE
    rng.shuffle(plan)
    for kill, where in enumerate(plan):
        leftovers = temp_files(folder)
        notes = f"kill-{kill}"
        victim = Victim(context, _store_faults.update_when_told, str(store), notes)
        victim.go.set()
        if where == "anywhere":
            time.sleep(rng.uniform(0, 1.2 * whole))
        else:
            deadline = time.monotonic() + 30
            while not temp_files(folder) - leftovers and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 1.5 * write))
        victim.kill()

        versions = BaselineStore(store, "main").versions()  # raises if any version is unreadable
        numbers = [v.version for v in versions]
        assert numbers == list(range(1, len(numbers) + 1)), numbers
        for version in versions:
            if version.version in known:  # older versions: untouched, not even replaced
                assert identity(version.path) == known[version.version]
        new = [v for v in versions if v.version not in known]
        assert len(new) <= 1
        for version in new:  # the newest: complete, or it would not be listed
            samples, meta = load_version(version)
            assert len(samples) == 3 * _store_faults.SAMPLES_PER_RUN
            assert version.notes == notes and meta["version"] == version.version
            known[version.version] = identity(version.path)
            digests[version.version] = digest(version.path)
        if new:
            outcome = "version landed whole"
        elif temp_files(folder) - leftovers:
            outcome = "killed inside the write"
        else:
            outcome = "nothing written"
        outcomes[outcome] += 1
        fault(f"baseline update SIGKILLed, {outcome}")

    # The kills did land inside writes, and after some of them the version was complete.
    assert outcomes["killed inside the write"] >= 5, outcomes
    assert outcomes["version landed whole"] >= 1, outcomes

    for version in BaselineStore(store, "main").versions():
        assert digest(version.path) == digests[version.version]
        load_version(version)
    # Killed updates leave temporary files, which readers ignore and prune clears once stale.
    left = temp_files(folder)
    assert left, "no kill left a temporary file: the kills missed the writes"
    for path in left:
        os.utime(path, (0, 0))
    BaselineStore(store, "main").prune(keep=len(known))
    assert not temp_files(folder)
    for version in BaselineStore(store, "main").versions():
        assert digest(version.path) == digests[version.version]
    assert (
        BaselineStore(store, "main")
        .add(_store_faults.make_runs(), commit="c0ffee", dirty=False, notes="after")
        .version
        == len(known) + 1
    )


def test_prunes_killed_at_random_keep_the_newest_versions_whole(tmp_path, context):
    rng = random.Random(SEED + 1)
    store = tmp_path / "store"
    tiny = _store_faults.make_runs(samples_per_run=4)
    cut_short = 0
    for _ in range(PRUNE_KILLS):
        while len(BaselineStore(store, "main").versions()) < 12:
            BaselineStore(store, "main").add(tiny, commit="c0ffee", dirty=False, notes=None)
        before = BaselineStore(store, "main").versions()
        identities = {v.version: identity(v.path) for v in before}
        victim = Victim(context, _store_faults.prune_when_told, str(store), 2, 0.004)
        victim.go.set()
        time.sleep(rng.uniform(0, 0.06))
        victim.kill()

        after = BaselineStore(store, "main").versions()
        numbers = [v.version for v in after]
        # Oldest first: what is left is the newest versions, in one unbroken run.
        assert numbers == list(range(numbers[0], before[-1].version + 1))
        assert 2 <= len(after) <= len(before)
        for version in after:
            assert identity(version.path) == identities[version.version]
            load_version(version)
        cut_short += 2 < len(after) < len(before)
        fault("baseline prune SIGKILLed")
    assert cut_short >= 1, "no kill landed inside a prune"


def _run_updaters(context, directory: Path, updaters: int, rounds: int, attempts: int):
    barrier, results = context.Barrier(updaters), context.Queue()
    processes = [
        context.Process(
            target=_store_faults.update_in_rounds,
            args=(str(directory), f"u{i}", rounds, attempts, barrier, results),
        )
        for i in range(updaters)
    ]
    for process in processes:
        process.start()
    outcomes, done = [], 0
    while done < updaters:
        notes, what, value = results.get(timeout=120)
        if what == "done":
            done += 1
        else:
            outcomes.append((notes, what, value))
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return outcomes


def test_concurrent_updates_all_land_as_separate_versions(tmp_path, context):
    outcomes = _run_updaters(context, tmp_path, updaters=4, rounds=5, attempts=20)
    assert all(what == "added" for _, what, _ in outcomes) and len(outcomes) == 20
    versions = BaselineStore(tmp_path, "main").versions()
    assert [v.version for v in versions] == list(range(1, 21))
    assert sorted(v.notes for v in versions) == sorted(notes for notes, _, _ in outcomes)
    for version in versions:
        samples, _ = load_version(version)
        assert len(samples) == 3 * _store_faults.SAMPLES_PER_RUN
    fault("concurrent baseline update", len(outcomes))


def test_a_concurrent_update_that_loses_the_race_is_refused_in_one_line(tmp_path, context):
    # One attempt per update: when two take the same number, the second is refused.
    outcomes = _run_updaters(context, tmp_path, updaters=4, rounds=4, attempts=1)
    added = sorted(value for _, what, value in outcomes if what == "added")
    refused = [value for _, what, value in outcomes if what == "refused"]
    assert len(added) + len(refused) == 16
    assert refused, "no two updates collided"
    for message in refused:
        assert "another update is writing baseline 'main'" in message and "retry" in message
        assert "\n" not in message and str(tmp_path / "main") in message
    versions = BaselineStore(tmp_path, "main").versions()
    assert [v.version for v in versions] == added == list(range(1, len(added) + 1))
    landed = {notes for notes, what, _ in outcomes if what == "added"}
    assert {v.notes for v in versions} == landed
    for version in versions:
        load_version(version)
    assert not list((tmp_path / "main").glob(".*.tmp")), "a refused update left its temp file"
    fault("concurrent baseline update", len(outcomes))
