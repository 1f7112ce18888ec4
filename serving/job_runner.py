"""Runs generation jobs in a background thread; jobs left unfinished are resumed at start-up."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Engine

from buying_groups.generation.jobs import get_job, run_job, unfinished_jobs
from buying_groups.storage.unit_of_work import SqlUnitOfWork
from serving.models import LoadedModel, ModelStore

log = logging.getLogger(__name__)


class JobRunner:
    """One worker: jobs run one after another, so the API's own requests keep a core."""

    def __init__(self, engine: Engine, models: ModelStore | None = None) -> None:
        self.engine = engine
        self.models = models
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")

    def submit(self, job_id: int) -> Future[None]:
        """Queue a job; its progress and outcome are stored in its row."""
        return self._executor.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        try:
            loaded = self._role_model(job_id)
        except Exception:  # the worker must live on
            log.exception("generation job %s could not start", job_id)
            return
        try:
            title = self.models.current.title if self.models is not None else None
            run_job(
                SqlUnitOfWork(self.engine),
                job_id,
                role_model=loaded.classifier if loaded else None,
                model_version=loaded.version if loaded else None,
                title_model=title.classifier if title else None,
            )
        except Exception as exc:
            # A failure once running is logged by run_job with its traceback, under the
            # reference the job's stored error names; one line here is enough.
            log.warning("generation job %s stopped: %s: %s", job_id, type(exc).__name__, exc)

    def _role_model(self, job_id: int) -> LoadedModel | None:
        """The interest's role model as loaded when the job starts: model and hybrid jobs
        need it, and a rules job's cards may test its role probabilities.

        Looked up now, not when the job was queued: a job resumed at start-up runs with
        the champion loaded by then.
        """
        report = get_job(SqlUnitOfWork(self.engine), job_id)
        if self.models is None:
            return None
        return self.models.current.roles.get(report.solution_interest)

    def resume_unfinished(self) -> list[int]:
        """Queue every job that was queued or running when the service last stopped."""
        ids = unfinished_jobs(SqlUnitOfWork(self.engine))
        for job_id in ids:
            self.submit(job_id)
        return ids

    def shutdown(self, wait: bool = False) -> None:
        """Stop taking jobs; a job cut short resumes after its cursor at the next start."""
        self._executor.shutdown(wait=wait, cancel_futures=True)
