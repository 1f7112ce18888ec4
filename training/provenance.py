"""What a training run records about the code that ran it: git commit and package version."""

from __future__ import annotations

import subprocess
from importlib import metadata

from buying_groups.settings import PROJECT_ROOT

__all__ = ["GIT_COMMIT_TAG", "PACKAGE_VERSION_TAG", "source_tags"]

#: MLflow's own tag for the commit (its UI links it); set here because MLflow fills it only
#: for scripts it can trace to a repository, not for notebooks or ``python -m``.
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_DIRTY_TAG = "buying_groups.git_dirty"
PACKAGE_VERSION_TAG = "buying_groups.version"
_DISTRIBUTION = "buying-groups"


def source_tags() -> dict[str, str]:
    """Run tags: the package version, and the git commit (and whether tracked files differ
    from it) when the code runs from a git checkout."""
    tags = {PACKAGE_VERSION_TAG: package_version()}
    commit = _git("rev-parse", "HEAD")
    if commit:
        tags[GIT_COMMIT_TAG] = commit
        changed = _git("status", "--porcelain", "--untracked-files=no")
        tags[GIT_DIRTY_TAG] = str(bool(changed)).lower()
    return tags


def package_version() -> str:
    """The installed version of buying-groups ("unknown" when it is not installed)."""
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(*args: str) -> str | None:
    """Output of a git command in the project folder; ``None`` outside a checkout or
    without git (a wheel install has neither)."""
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
