"""Candidate policies for replay: only policy sets under one configured root, read without trusting them.

An admin names a candidate on the web page or on the command line (or uploads its files on the page);
the name must not become a way to read the server's files. So a candidate is a directory under
``COUNTERSIGN_POLICY_REPLAY_ROOT`` (default: ``policy-candidates/`` next to the live policy directory),
and its files (or the uploaded ones, by base name) are copied into a private directory before the
loader sees them:

- a path that leaves the root (``..``, an absolute path elsewhere, a symlinked directory) is refused;
- a policy file that is a symbolic link, or not a regular file, is refused, never followed;
- files are opened without following links and read up to a size cap; there is a cap on their number.

The same rules serve every surface (admin page, ``countersign policy replay``).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from server.policy import Policy, PolicyError, load_policy
from server.policy.loader import SUFFIXES
from server.policy.problems import Problem
from server.policy.types import Action
from server.replay import what_if

MAX_NAME_CHARS = 255
MAX_FILES = 50
MAX_FILE_BYTES = 1_048_576  # a large policy is tens of kilobytes


class CandidateError(ValueError):
    """The named candidate is not one that may be replayed; the message says why, in one line."""


def candidate_directory(root: Path, given: str) -> Path:
    """The directory ``given`` names (relative to ``root``, or absolute inside it), once it is safe to read."""
    if not given.strip():
        raise CandidateError("name a candidate policy directory")
    if len(given) > MAX_NAME_CHARS:
        raise CandidateError(f"the candidate's name is too long ({len(given)} characters; at most {MAX_NAME_CHARS})")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in given):
        raise CandidateError("the candidate's name contains a control character (such as NUL)")
    try:
        base = root.resolve(strict=True)
    except OSError as exc:
        raise CandidateError(f"the candidate root {root} does not exist (COUNTERSIGN_POLICY_REPLAY_ROOT)") from exc
    # resolve() follows every link, so a symlinked directory that leads out of the root is caught below.
    target = (base / given).resolve()
    if target == base or not target.is_relative_to(base):
        raise CandidateError(f"candidates are directories inside {root}; {given!r} is not")
    if not target.is_dir():
        raise CandidateError(f"there is no candidate directory {given!r} in {root}")
    return target


def load_candidate(
    root: Path,
    given: str,
    *,
    rule_actions: Mapping[str, Action] | None = None,
    tool_actions: Mapping[str, Action] | None = None,
) -> Policy:
    """Load the candidate ``given`` names under ``root``, with any what-if changes applied.

    The returned policy's ``files`` name a private copy that no longer exists: use it to classify.

    Raises:
        CandidateError: the name or a file is refused (see the module docstring).
        PolicyError: the candidate does not load; problems name its files relative to ``root``.
        KeyError: a what-if names a rule or tool the candidate does not have.
    """
    directory = candidate_directory(root, given)
    shown = str(directory.relative_to(root.resolve()))
    return _load(_read_files(directory), shown, rule_actions, tool_actions)


def load_uploaded(
    files: Sequence[tuple[str, bytes]],
    *,
    rule_actions: Mapping[str, Action] | None = None,
    tool_actions: Mapping[str, Action] | None = None,
) -> Policy:
    """Load a candidate from uploaded files (name, content): only their base names are kept.

    Raises: as :func:`load_candidate`; problems name the files as ``uploaded/NAME``.
    """
    if not files:
        raise CandidateError("choose one or more policy files (.yaml) to upload")
    if len(files) > MAX_FILES:
        raise CandidateError(f"{len(files)} files uploaded; at most {MAX_FILES}")
    names = [_uploaded_name(name) for name, _ in files]
    if len(set(names)) != len(names):
        raise CandidateError("two uploaded files have the same name")
    for name, (_, raw) in zip(names, files, strict=True):
        if len(raw) > MAX_FILE_BYTES:
            raise CandidateError(f"{name} is larger than {MAX_FILE_BYTES} bytes")
    return _load(
        [(name, raw) for name, (_, raw) in zip(names, files, strict=True)], "uploaded", rule_actions, tool_actions
    )


def _uploaded_name(given: str) -> str:
    # Browsers send a base name; anything with directories (either kind of slash) keeps only the last part.
    name = given.replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > MAX_NAME_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise CandidateError("an uploaded file's name is empty, too long or contains control characters")
    if name.startswith(".") or not name.endswith(SUFFIXES):
        raise CandidateError(f"{name[:80]!r} is not a policy file (*.yaml or *.yml, not hidden)")
    return name


def _load(
    files: Sequence[tuple[str, bytes]],
    shown: str,
    rule_actions: Mapping[str, Action] | None,
    tool_actions: Mapping[str, Action] | None,
) -> Policy:
    with tempfile.TemporaryDirectory(prefix="countersign-candidate-") as private:
        for name, raw in files:
            (Path(private) / name).write_bytes(raw)
        try:
            return what_if(load_policy(private), rule_actions=rule_actions, tool_actions=tool_actions)
        except PolicyError as exc:
            raise PolicyError(_renamed(p, private, shown) for p in exc.problems) from None


def _read_files(directory: Path) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    with os.scandir(directory) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(SUFFIXES) and not e.name.startswith("."))
    if len(names) > MAX_FILES:
        raise CandidateError(f"the candidate has {len(names)} policy files; at most {MAX_FILES}")
    for name in names:
        files.append((name, _read_regular_file(directory / name)))
    return files


def _read_regular_file(path: Path) -> bytes:
    """The file's bytes: never through a link, never a device or pipe, never more than the cap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if path.is_symlink():
            raise CandidateError(f"{path.name} is a symbolic link; candidate files must be regular files") from exc
        raise CandidateError(f"{path.name} cannot be read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CandidateError(f"{path.name} is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise CandidateError(
                f"{path.name} is {info.st_size} bytes; a policy file may have at most {MAX_FILE_BYTES}"
            )
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:  # grew while being read
        raise CandidateError(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
    return raw


def _renamed(problem: Problem, private: str, shown: str) -> Problem:
    file = problem.file.replace(private, shown, 1) if problem.file.startswith(private) else problem.file
    return dataclasses.replace(problem, file=file)
