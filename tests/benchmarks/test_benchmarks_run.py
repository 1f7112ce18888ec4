"""The benchmark scripts run in their short mode and print their numbers (CI runs this)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_script(*args: str, timeout: int = 600) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    print(result.stdout)  # the numbers land in the CI log
    return result.stdout


def test_import_benchmark_prints_rates_and_ratios_to_the_raw_baseline() -> None:
    out = _run_script(str(ROOT / "benchmarks" / "import_benchmark.py"), "--short", timeout=600)
    backends = 2 if os.environ.get("BG_TEST_DATABASE_URL") else 1
    raw = re.findall(r"raw executemany: ([\d,]+) rows = ([\d,]+) rows/s", out)
    imports = re.findall(
        r"import \((?:insert|update)\): ([\d,]+) rows = [\d,]+ rows/s; "
        r"rejected 0; ([\d.]+)x raw",
        out,
    )
    assert len(raw) == 3 * backends and len(imports) == 6 * backends
    assert all(rows == "20,000" for rows, _ in raw + imports)
    assert all(float(ratio) > 0 for _, ratio in imports)


def test_generation_benchmark_prints_persons_per_second() -> None:
    out = _run_script(str(ROOT / "benchmarks" / "generation_benchmark.py"), "--short", timeout=300)
    rates = re.findall(r"= ([\d,]+) persons/s", out)
    assert len(rates) == 2 and all(int(r.replace(",", "")) > 0 for r in rates)
    assert "members +0 -0 ~0" in out  # the rerun changed nothing


@pytest.mark.slow
def test_api_benchmark_prints_latency_and_rss() -> None:
    out = _run_script(str(ROOT / "benchmarks" / "api_benchmark.py"), "--short")
    found = re.search(r"(\d+) ok, (\d+) errors; latency p50 ([\d.]+) ms, p99 ([\d.]+) ms", out)
    assert found is not None and int(found.group(1)) > 0
    assert re.search(r"server RSS: \d+ MiB now, \d+ MiB peak", out)


@pytest.mark.slow
def test_title_benchmark_prints_quality_and_speed() -> None:
    corpora = ROOT.parent / "shared" / "data" / "title-corpora"
    out = _run_script("-m", "training.bench_titles", "--short", "--corpora", str(corpora))
    assert "macro" in out.lower() or "f1" in out.lower()
    assert "titles_per_s" in out


def test_recommendation_benchmark_prints_hit_rates() -> None:
    script = str(ROOT / "benchmarks" / "recommendation_benchmark.py")
    out = _run_script(script, "--short", "--cases", "30")
    assert out.count("rules + role model ") == 2 and out.count("random (expected)") == 2
    model = re.findall(r"rules \+ role model\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
    random = re.findall(r"random \(expected\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
    assert len(model) == 2 and len(random) == 2
    # The recommender must beat a random draw from the same pool (MRR, last column).
    assert all(float(m[2]) > float(r[2]) for m, r in zip(model, random, strict=True))
