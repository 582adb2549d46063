"""Run every bench/bench_*.py module's main(), in name order."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> None:
    only = set(sys.argv[1:])  # optional: names to run, e.g. `python -m bench classify`
    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")):
        if only and module.removeprefix("bench_") not in only and module not in only:
            continue
        print(f"== {module}")
        importlib.import_module(f"bench.{module}").main()


if __name__ == "__main__":
    main()
