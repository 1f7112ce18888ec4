"""The retraining notebook runs top to bottom against a temporary MLflow store."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from buying_groups.settings import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01-retrain-title-models.ipynb"


@pytest.mark.slow
def test_retrain_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
