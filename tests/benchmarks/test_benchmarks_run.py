"""The benchmark scripts run in their short mode and print their numbers (CI runs this)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_benchmark_prints_rows_per_second() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "import_benchmark.py"), "--short"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    print(result.stdout)  # the numbers land in the CI log
    rates = re.findall(r"= ([\d,]+) rows/s; rejected 0", result.stdout)
    assert len(rates) == 2 and all(int(r.replace(",", "")) > 0 for r in rates)


def test_generation_benchmark_prints_persons_per_second() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generation_benchmark.py"), "--short"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    print(result.stdout)  # the numbers land in the CI log
    rates = re.findall(r"= ([\d,]+) persons/s", result.stdout)
    assert len(rates) == 2 and all(int(r.replace(",", "")) > 0 for r in rates)
    assert "members +0 -0 ~0" in result.stdout  # the rerun changed nothing
