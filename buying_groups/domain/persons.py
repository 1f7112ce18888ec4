"""People at accounts and what they did (activities feed engagement)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ActivityType(StrEnum):
    """Kinds of activity that count towards engagement."""

    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    LINK_CLICKED = "link_clicked"
    PAGE_VIEWED = "page_viewed"
    FORM_FILLED = "form_filled"
    EVENT_REGISTERED = "event_registered"
    EVENT_ATTENDED = "event_attended"
    INTERESTING_MOMENT = "interesting_moment"


class Person(BaseModel):
    """A contact at an account."""

    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1, max_length=100)
    account_external_id: str = Field(min_length=1, max_length=100)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    job_title: str | None = Field(default=None, max_length=300)
    department: str | None = Field(default=None, max_length=150)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    phone: str | None = Field(default=None, max_length=50)

    @property
    def email_domain(self) -> str | None:
        """The part of the e-mail address after the @, lower case."""
        return self.email.rsplit("@", 1)[1].lower() if self.email else None


class Activity(BaseModel):
    """One thing a person did, at a time."""

    model_config = ConfigDict(frozen=True)

    external_id: str | None = Field(default=None, max_length=200)
    person_external_id: str = Field(min_length=1, max_length=100)
    type: ActivityType
    occurred_at: datetime
