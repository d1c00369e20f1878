"""Start-up cost of `butterfly --help` against a minimal 5-command Typer app's `--help`.

Target (issue 2): butterfly's median within 1.3x of the minimal app's median, measured in one run.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_APP = '''
import typer

app = typer.Typer()

@app.command()
def one() -> None:
    """First."""

@app.command()
def two() -> None:
    """Second."""

@app.command()
def three() -> None:
    """Third."""

@app.command()
def four() -> None:
    """Fourth."""

@app.command()
def five() -> None:
    """Fifth."""

if __name__ == "__main__":
    app()
'''


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "COLUMNS": "100"}
    exe = shutil.which("butterfly", path=str(Path(sys.executable).parent)) or shutil.which("butterfly")
    butterfly_cmd = [exe, "--help"] if exe else [sys.executable, "-m", "butterfly", "--help"]
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        minimal_cmd = [sys.executable, str(minimal), "--help"]
        bare_cmd = [sys.executable, "-c", "pass"]
        # warm the OS caches once, then interleave so machine noise hits both alike
        for cmd in (butterfly_cmd, minimal_cmd, bare_cmd):
            timed(cmd, 1, env)
        b: list[float] = []
        m: list[float] = []
        p: list[float] = []
        for _ in range(args.runs):
            b += timed(butterfly_cmd, 1, env)
            m += timed(minimal_cmd, 1, env)
            p += timed(bare_cmd, 1, env)
    mb, mm, mp = statistics.median(b), statistics.median(m), statistics.median(p)
    print(f"runs each:                        {args.runs}")
    print(f"python -c pass          median    {mp * 1000:7.1f} ms")
    print(f"minimal 5-command Typer --help    {mm * 1000:7.1f} ms")
    print(f"butterfly --help        median    {mb * 1000:7.1f} ms")
    print(f"ratio butterfly / minimal Typer   {mb / mm:7.2f}x   (target <= 1.30x)")


if __name__ == "__main__":
    main()
