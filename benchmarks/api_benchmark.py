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
import json
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
CONNECTIONS = 32


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(folder: Path, train_rows: int) -> tuple[dict[str, str], str]:
    """Seed the demo CRM, train and register a title model, create a key; returns env, key."""
    from buying_groups.storage.api_key_repository import ApiKeyRepository
    from buying_groups.storage.database import (
        make_engine,
        make_session_factory,
        unit_of_work,
        upgrade,
    )
    from buying_groups_demo.seed import seed_demo
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


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for JSON POSTs.

    httpx's async pool costs several CPU-milliseconds a request once requests queue up on
    this 2-core machine, so the load generator itself became the bottleneck; raw streams
    cost tens of microseconds.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect to host:port."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, request: bytes) -> tuple[int, bytes]:
        """Send a complete request; return the status code and the body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


def post_request(
    host: str, port: int, key: str, title: str, solution_interest: str | None = None
) -> bytes:
    """The bytes of one role-prediction request for one title (and interest, if given)."""
    payload: dict[str, object] = {"titles": [title]}
    if solution_interest:
        payload["solution_interest"] = solution_interest
    body = json.dumps(payload).encode()
    head = (
        f"POST /v1/role-predictions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-API-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def load(
    host: str,
    port: int,
    key: str,
    titles: list[str],
    rate: float,
    seconds: float,
    solution_interest: str | None = None,
) -> list[float]:
    """Open-loop load: one request every 1/rate s; returns latencies in ms (inf = error).

    Latency runs from the moment a request was due, not from when it was sent, so a
    late load generator cannot hide a slow server (no coordinated omission).
    """
    latencies: list[float] = []
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    connections = [await Connection.open(host, port) for _ in range(CONNECTIONS)]
    for connection in connections:
        idle.put_nowait(connection)
    requests = [post_request(host, port, key, title, solution_interest) for title in titles]

    async def one(request: bytes, due: float) -> None:
        connection = await idle.get()
        try:
            status, body = await connection.post(request)
            ok = status == 200
            if not ok and not latencies:
                print("first error:", status, body[:300])
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            ok = False
            if not latencies:
                print("first error:", repr(exc))
            connection.close()
            connection = await Connection.open(host, port)
        idle.put_nowait(connection)
        latencies.append((time.perf_counter() - due) * 1000 if ok else float("inf"))

    tasks = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[n % len(requests)], due)))
    await asyncio.gather(*tasks)
    for connection in connections:
        connection.close()
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument(
        "--distinct", type=int, default=2000, help="distinct titles sent (the rest repeat)"
    )
    parser.add_argument(
        "--solution-interest",
        default=None,
        help="ask for roles too (the demo's 'Secure Edge': its rules, one database read)",
    )
    parser.add_argument("--short", action="store_true", help="100/s for 5 s (CI)")
    args = parser.parse_args()
    rate, seconds = (100.0, 5.0) if args.short else (args.rate, args.seconds)
    with tempfile.TemporaryDirectory() as folder:
        env, key = prepare(Path(folder), 1500 if args.short else args.train_rows)
        port = free_port()
        server = start_server(env, port)
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            shuffled = pd.read_csv(TITLES)["title"].drop_duplicates().sample(frac=1, random_state=1)
            titles = shuffled.iloc[: args.distinct].tolist()
            # Warm-up (not counted): other titles than the measured ones, so the measured
            # run starts with a cold prediction cache.
            warm_up = shuffled.iloc[-200:].tolist()
            interest = args.solution_interest
            asyncio.run(load("127.0.0.1", port, key, warm_up, rate, 1.0, interest))
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            run = load("127.0.0.1", port, key, titles, rate, seconds, interest)
            latencies = np.array(asyncio.run(run))
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
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
        f"role-predictions, 1 title per request"
        f"{f' for {args.solution_interest!r}' if args.solution_interest else ''}, "
        f"{rate:.0f} requests/s for {seconds:.0f} s: "
        f"{len(ok)} ok, {errors} errors; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    requests = max(len(latencies), 1)
    print(
        f"CPU per request: server {server_cpu / requests * 1000:.2f} ms, "
        f"load generator {client_cpu / requests * 1000:.2f} ms "
        f"({min(len(titles), requests)} distinct titles: the first sight of each is a cache miss)"
    )
    print(f"server RSS: {current:.0f} MiB now, {peak:.0f} MiB peak")


if __name__ == "__main__":
    main()
