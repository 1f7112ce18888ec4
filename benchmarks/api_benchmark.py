"""Single-title role prediction over HTTP: latency p50/p99 at a steady rate, and server RSS.

The server runs in its own process (`buying-groups serve`, one uvicorn worker) on
127.0.0.1 with a fresh SQLite database (the small demo CRM) and a title model trained into a
temporary MLflow store; this process is the load generator. Requests are sent open-loop at
a fixed rate (a late answer does not delay the next request), one title each.

Run: `make bench-api` (200 requests/s for 30 s) or `--short` (100/s for 5 s, for CI).
Target (issue 5): p99 <= 25 ms at 200 requests/s, RSS <= 1 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TITLES = ROOT / "data" / "default-titles" / "titles.csv"


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(folder: Path, train_rows: int) -> tuple[dict[str, str], str]:
    """Seed the demo CRM, train and register a title model, create a key; returns env, key."""
    from buying_groups.demo.seed import seed_demo
    from buying_groups.storage.api_key_repository import ApiKeyRepository
    from buying_groups.storage.database import (
        make_engine,
        make_session_factory,
        unit_of_work,
        upgrade,
    )
    from training.title_pipeline import train_titles

    env = {
        "BG_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "BG_MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "BG_MLFLOW_ARTIFACT_ROOT": str(folder / "artifacts"),
        "BG_RATE_LIMIT": "1000000/minute",
        "BG_WEBHOOKS_ENABLED": "false",
    }
    engine = make_engine(env["BG_DATABASE_URL"])
    upgrade(engine)
    seed_demo(engine, "small", generate=False)
    titles = pd.read_csv(TITLES).sample(n=train_rows, random_state=0)
    train_titles(
        titles,
        ["function", "seniority"],
        "title-persona",
        log_plots=False,
        progress=False,
        tracking_uri=env["BG_MLFLOW_TRACKING_URI"],
        artifact_root=env["BG_MLFLOW_ARTIFACT_ROOT"],
    )
    with unit_of_work(make_session_factory(engine)) as session:
        key, _ = ApiKeyRepository(session).create("bench", ["read"])
    return env, key


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`buying-groups serve` in its own process."""
    command = [sys.executable, "-m", "buying_groups_cli.main", "serve", "--port", str(port)]
    return subprocess.Popen(
        command, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_ready(base: str, timeout: float = 120) -> None:
    """Until /ready says a title model is loaded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not httpx.get(f"{base}/ready", timeout=2).json()["rules_only"]:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


async def load(base: str, key: str, titles: list[str], rate: float, seconds: float) -> list[float]:
    """Open-loop load: one request every 1/rate s; returns latencies in ms (inf = error)."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, limits=limits
    ) as client:

        async def one(title: str) -> None:
            started = time.perf_counter()
            try:
                response = await client.post("/v1/role-predictions", json={"titles": [title]})
                ok = response.status_code == 200
                if not ok and not latencies:
                    print("first error:", response.status_code, response.text[:300])
            except httpx.HTTPError as exc:
                ok = False
                if not latencies:
                    print("first error:", repr(exc))
            latencies.append((time.perf_counter() - started) * 1000 if ok else float("inf"))

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(titles[n % len(titles)])))
        await asyncio.gather(*tasks)
    return latencies


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MiB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    """Prepare, start the server, warm up, load it, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--train-rows", type=int, default=4000)
    parser.add_argument("--short", action="store_true", help="100/s for 5 s (CI)")
    args = parser.parse_args()
    rate, seconds = (100.0, 5.0) if args.short else (args.rate, args.seconds)
    with tempfile.TemporaryDirectory() as folder:
        env, key = prepare(Path(folder), 1500 if args.short else args.train_rows)
        port = free_port()
        server = start_server(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base)
            titles = pd.read_csv(TITLES)["title"].sample(n=2000, random_state=1).tolist()
            asyncio.run(load(base, key, titles[:200], rate, 2.0))  # warm-up, not counted
            latencies = np.array(asyncio.run(load(base, key, titles, rate, seconds)))
            current, peak = rss_mib(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    ok = latencies[np.isfinite(latencies)]
    errors = len(latencies) - len(ok)
    p50, p99 = np.percentile(ok, [50, 99]) if len(ok) else (float("nan"), float("nan"))
    print(
        f"role-predictions, 1 title per request, {rate:.0f} requests/s for {seconds:.0f} s: "
        f"{len(ok)} ok, {errors} errors; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(f"server RSS: {current:.0f} MiB now, {peak:.0f} MiB peak")


if __name__ == "__main__":
    main()
