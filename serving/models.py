"""The models the service runs: loaded once from the MLflow registry by alias, reloaded when
the alias moves, and absent (rules-only) when nothing can be loaded."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from buying_groups.ml.role_predictions import RuleRoles
from buying_groups.ml.title_classifier import TitleClassifier
from serving.caches import LruCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A classifier and where it came from."""

    name: str
    version: str
    uri: str
    classifier: TitleClassifier


@dataclass
class ModelSet:
    """What is loaded now: the title model and the role models per solution interest."""

    title: LoadedModel | None = None
    roles: dict[str, LoadedModel] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def rules_only(self) -> bool:
        """No title model: generation and predictions fall back to the rules."""
        return self.title is None

    def versions(self) -> dict[str, Any]:
        """Name -> version of everything loaded (for /ready and /v1/models)."""
        loaded = [m for m in (self.title, *self.roles.values()) if m is not None]
        return {m.name: m.version for m in loaded}


class PredictionCache(LruCache):
    """Recent answers per (models, interest, template, title): titles repeat heavily in CRMs.

    Keys carry the model versions, so a reload never serves an old model's answer; live
    templates are frozen, so rule answers cannot go stale either.
    """

    def __init__(self, size: int = 50_000) -> None:
        super().__init__(size)


class ModelStore:
    """Holds the current ModelSet; swaps it atomically when a champion alias moves."""

    def __init__(
        self, tracking_uri: str, title_model_name: str, registry_uri: str | None = None
    ) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.title_model_name = title_model_name
        self.current = ModelSet()
        self.predictions = PredictionCache()
        # Live templates are frozen and cannot be deleted, so compiled rules never go stale.
        self.rules: dict[str, RuleRoles] = {}
        self._lock = threading.Lock()

    def reload(self, role_interests: list[str] | None = None) -> ModelSet:
        """Load the champions whose versions changed; keep the rest; never raise."""
        with self._lock:
            try:
                self.current = self._load(role_interests or [])
            except Exception:  # a broken registry must not stop the service
                reference = _log_failure("loading models from %s failed", self.tracking_uri)
                self.current = ModelSet(errors=[_plain_error("the model registry", reference)])
            return self.current

    def _load(self, role_interests: list[str]) -> ModelSet:
        from buying_groups.ml.registry import configure_mlflow, role_model_name

        client = configure_mlflow(self.tracking_uri, registry_uri=self.registry_uri)
        loaded = ModelSet()
        title = self._champion(client, self.title_model_name, self.current.title, loaded)
        loaded.title = title
        for interest in role_interests:
            name = role_model_name(interest)
            role = self._champion(client, name, self.current.roles.get(interest), loaded)
            if role is not None:
                loaded.roles[interest] = role
        return loaded

    @staticmethod
    def _champion(
        client: Any, name: str, previous: LoadedModel | None, loaded: ModelSet
    ) -> LoadedModel | None:
        from buying_groups.ml.registry import champion_uri, champion_version, load_classifier

        version = champion_version(client, name)
        if version is None:
            loaded.errors.append(f"no champion for {name}")
            return None
        if previous is not None and previous.version == str(version.version):
            return previous
        uri = champion_uri(name)
        try:
            # By version, not alias: the alias may have moved since it was read.
            classifier = load_classifier(name, version.version)
        except Exception:  # one broken model must not unload the others
            reference = _log_failure("loading %s version %s failed", name, version.version)
            loaded.errors.append(_plain_error(f"model {name} version {version.version}", reference))
            return previous
        if not isinstance(classifier, TitleClassifier):
            loaded.errors.append(f"{name}: not a title classifier")
            return None
        log.info("loaded %s version %s", name, version.version)
        return LoadedModel(name, str(version.version), uri, classifier)


def _log_failure(message: str, *args: object) -> str:
    """Log the current exception with a reference an operator can search the log for."""
    reference = uuid.uuid4().hex[:12]
    log.exception(message + " (reference %s)", *args, reference)
    return reference


def _plain_error(what: str, reference: str) -> str:
    """What an answer says of a failure: what failed, never how (no SQL, no paths)."""
    return f"{what} could not be loaded (reference {reference}; see the server log)"


async def poll_models(store: ModelStore, interests: Any, interval: float) -> None:
    """Reload when an alias moves (checked every ``interval`` seconds) until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(store.reload, interests())
        except Exception:  # keep polling whatever happens
            log.exception("model polling failed")
