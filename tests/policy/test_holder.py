"""PolicyHolder: reload on change, keep the last good policy through a broken edit, never sleep."""

from __future__ import annotations

import threading
from pathlib import Path

from server.policy import PolicyHolder, classify
from server.policy.types import Action
from tests.policy.builders import BASE, facts, write

BROKEN = BASE + "rules:\n  - {id: r, action: hold, when: 'exposure.amount >'}\n"
WITH_RULE = BASE + "rules:\n  - {id: lookups-held, tools: [lookup], action: hold}\n"


def test_holder_loads_the_directory_when_created(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=0)
    policy = holder.current()
    assert policy is not None and "refund" in policy.tools
    assert holder.last_error is None
    assert holder.loaded_at is not None


def test_broken_edit_keeps_the_last_good_policy_and_records_the_error(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=0)
    good = holder.current()
    loaded_at = holder.loaded_at
    write(tmp_path, "p.yaml", BROKEN)
    assert holder.current() is good
    assert holder.loaded_at == loaded_at
    assert holder.last_error is not None
    [problem] = holder.last_error.problems
    assert (problem.file, problem.rule, problem.line) == (str(tmp_path / "p.yaml"), "r", 12)


def test_fixed_edit_is_picked_up_and_clears_the_error(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=0)
    write(tmp_path, "p.yaml", BROKEN)
    holder.current()
    write(tmp_path, "p.yaml", WITH_RULE)
    policy = holder.current()
    assert policy is not None and [r.id for r in policy.rules] == ["lookups-held"]
    assert holder.last_error is None
    assert classify(policy, facts("lookup")).action == Action.HOLD


def test_without_ever_a_good_policy_current_is_none_and_every_call_blocks(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BROKEN)
    holder = PolicyHolder(tmp_path, check_interval=0)
    assert holder.current() is None
    assert holder.last_error is not None
    assert classify(holder.current(), facts("lookup")).action == Action.BLOCK


def test_missing_directory_means_no_policy_until_it_appears(tmp_path: Path) -> None:
    holder = PolicyHolder(tmp_path / "policies", check_interval=0)
    assert holder.current() is None
    assert holder.last_error is not None and "does not exist" in str(holder.last_error)
    write(tmp_path / "policies", "p.yaml", BASE)
    assert holder.current() is not None


def test_files_are_checked_at_most_once_per_interval(tmp_path: Path) -> None:
    now = [100.0]
    write(tmp_path, "p.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=1.0, clock=lambda: now[0])
    first = holder.current()
    write(tmp_path, "p.yaml", WITH_RULE)
    now[0] += 0.5
    assert holder.current() is first  # not checked yet
    now[0] += 0.5
    assert holder.current() is not first


def test_new_file_in_the_directory_is_picked_up(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=0)
    write(tmp_path, "b.yaml", "version: 1\nrules:\n  - {id: extra, action: hold}\n")
    policy = holder.current()
    assert policy is not None and [r.id for r in policy.rules] == ["extra"]


def test_unchanged_files_are_not_reloaded(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE)
    holder = PolicyHolder(tmp_path, check_interval=0)
    assert holder.current() is holder.current()


def test_concurrent_readers_always_see_a_whole_policy(tmp_path: Path) -> None:
    versions = {_version(tmp_path / name, text) for name, text in (("base", BASE), ("rule", WITH_RULE))}
    live = tmp_path / "live"
    write(live, "p.yaml", BASE)
    holder = PolicyHolder(live, check_interval=0)
    seen: list[object] = []
    errors: list[BaseException] = []
    written = threading.Event()

    def read() -> None:
        try:
            for _ in range(100_000):  # bounded: until every edit has been written, and once more
                seen.append(holder.current())
                if written.is_set():
                    break
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for text in (WITH_RULE, BROKEN, BASE):
        write(live, "p.yaml", text)
    written.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    # Every read got a whole policy, and only one of the two good ones: never the broken edit, never None.
    assert {getattr(policy, "version", None) for policy in seen} <= versions


def _version(directory: Path, text: str) -> str:
    write(directory, "p.yaml", text)
    policy = PolicyHolder(directory, check_interval=0).current()
    assert policy is not None
    return policy.version
