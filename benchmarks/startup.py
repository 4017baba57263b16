"""CLI start-up against bare Python start-up, measured in the same run: `spanwise --help`,
`spanwise patterns list` and an offline `spanwise chat` question on the sample store.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], env: dict[str, str], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spanwise = [str(Path(sys.executable).with_name("spanwise"))]  # the installed script
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "SPANWISE_DATA_DIR": directory}
        subprocess.run(
            [*spanwise, "discover", "--sample", "--traces", "300"],
            env=env,
            capture_output=True,
            check=True,
        )
        bare = timed([sys.executable, "-c", "pass"], env, args.runs)
        print(f"python -c pass: {bare * 1000:.0f} ms")
        for name, command in (
            ("spanwise --help", [*spanwise, "--help"]),
            ("spanwise patterns list", [*spanwise, "patterns", "list"]),
            ("spanwise chat (offline)", [*spanwise, "chat", "why is inventory slow?"]),
        ):
            took = timed(command, env, args.runs)
            print(
                f"{name}: {took * 1000:.0f} ms, {took - bare:+.2f} s over bare Python "
                f"({took / bare:.0f}x)"
            )


if __name__ == "__main__":
    main()
