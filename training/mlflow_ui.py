"""Start the MLflow UI on the settings' stores (``make mlflow [PORT=5001]``).

One worker: a local UI needs no more, and every extra worker is another process holding
the SQLite store open.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from buying_groups.ml.registry import sqlite_store_path
from buying_groups.settings import Settings, get_settings

app = typer.Typer(help="Start the MLflow UI on the settings' tracking and registry stores.")

_REMOTE_SCHEMES = ("http://", "https://", "databricks")


def mlflow_server_command(settings: Settings, port: int | None = None) -> list[str]:
    """The ``mlflow server`` command line for the settings' stores, on 127.0.0.1.

    Args:
        settings: the stores (BG_MLFLOW_* or MLFLOW_*) and the default port.
        port: overrides ``settings.mlflow_port``.

    Raises:
        typer.BadParameter: the tracking store is a remote server, which has its own UI.
    """
    if settings.mlflow_tracking_uri.startswith(_REMOTE_SCHEMES):
        raise typer.BadParameter(
            f"the tracking store {settings.mlflow_tracking_uri} is an MLflow server; open it"
        )
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        settings.mlflow_tracking_uri,
        "--registry-store-uri",
        settings.mlflow_registry_uri,
        "--default-artifact-root",
        settings.mlflow_artifact_root,
        "--host",
        "127.0.0.1",
        "--port",
        str(port if port is not None else settings.mlflow_port),
        "--workers",
        "1",
    ]


@app.command()
def main(
    port: Annotated[
        int | None, typer.Option(help="Port [default: BG_MLFLOW_PORT, else 5000].")
    ] = None,
) -> None:
    """Replace this process with ``mlflow server`` on the settings' stores."""
    settings = get_settings()
    port = port if port is not None else settings.mlflow_port
    command = mlflow_server_command(settings, port)
    for uri in (settings.mlflow_tracking_uri, settings.mlflow_registry_uri):
        path = sqlite_store_path(uri)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    typer.echo(f"MLflow UI on http://127.0.0.1:{port} for {settings.mlflow_tracking_uri}")
    os.execv(command[0], command)


if __name__ == "__main__":
    app()
