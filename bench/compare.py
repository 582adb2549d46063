"""Is the working tree faster than a commit? Paired sequential calls against both, and the plain server.

    python -m bench.compare REF      # REF: a commit, branch or tag; ROUNDS=6 by default

On this 2-core VM a server's sequential throughput drifts by 10-30% between runs and even within one
(bench/README.md, "Session 9"), far more than most changes move it. So both versions run side by side:
each round starts a plain server, ``countersign serve`` at REF (a temporary git worktree, run with this
virtualenv's packages) and ``countersign serve`` from the working tree, and sends blocks of calls to
each in turn (``bench_mcp.measure_sequential``), the order rotating from round to round. Each round
prints both versions' throughput as a ratio of the plain server's and their ratio to each other (B/A);
the medians of those are the answer, and a B/A within about ±1% of 1 is no change (REF against itself
gives 0.99-1.01).

Both versions share one database: REF must have the working tree's schema (no migration in between).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.bench_mcp import REPO, _tokens, measure_sequential, start_countersign, start_plain

ROUNDS = int(os.environ.get("ROUNDS", "6"))


@contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """REF checked out in a temporary directory (a detached git worktree), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="countersign-compare-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=REPO, check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)


def main(ref: str) -> None:
    with worktree(ref) as tree, tempfile.TemporaryDirectory(prefix="countersign-compare-db-") as tmp:
        root = Path(tmp)
        database_url, office_url = f"sqlite:///{root / 'countersign.db'}", f"sqlite:///{root / 'backoffice.db'}"
        log = root / "servers.log"
        agent_token, _ = _tokens(database_url)
        start_countersign(database_url, office_url, log, command="demo").stop()  # seeds the back office
        ratios: dict[str, list[float]] = {"A": [], "B": []}
        print(f"A: {ref}   B: the working tree   (sequential calls/s as a ratio of the plain server's)")
        for number in range(ROUNDS):
            started = [
                ("plain", start_plain(database_url, office_url, log), None),
                ("A", start_countersign(database_url, office_url, log, tree=tree), agent_token),
                ("B", start_countersign(database_url, office_url, log, tree=REPO), agent_token),
            ]
            try:
                servers = [(name, process.url, token) for name, process, token in started]
                turn = number % len(servers)
                figures = asyncio.run(measure_sequential(servers[turn:] + servers[:turn]))
            finally:
                for _, process, _ in started:
                    process.stop()
            for name in ratios:
                ratios[name].append(figures[name]["sequential_rps"] / figures["plain"]["sequential_rps"])
            a, b = ratios["A"][-1], ratios["B"][-1]
            print(f"round {number + 1}: A {a:.3f}  B {b:.3f}  B/A {b / a:.3f}")
        paired = [b / a for a, b in zip(ratios["A"], ratios["B"], strict=True)]
        print(
            f"median: A {statistics.median(ratios['A']):.3f}  B {statistics.median(ratios['B']):.3f}  "
            f"B/A {statistics.median(paired):.3f} (mean {statistics.mean(paired):.3f})"
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.compare REF   (a commit, branch or tag to compare the working tree with)")
    main(sys.argv[1])
