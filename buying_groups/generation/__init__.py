"""Rule-based creation and maintenance of buying groups (generation jobs)."""

from buying_groups.generation.jobs import (
    GenerationMode,
    GenerationReport,
    JobState,
    TitleModelRequiredError,
    check_mode,
    create_job,
    get_job,
    run_generation,
    run_job,
)

__all__ = [
    "GenerationMode",
    "GenerationReport",
    "JobState",
    "TitleModelRequiredError",
    "check_mode",
    "create_job",
    "get_job",
    "run_generation",
    "run_job",
]
