"""Events a marketing app can follow: what changed in which buying group."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum


class EventType(StrEnum):
    """Kinds of change recorded in the outbox."""

    GROUP_CREATED = "group.created"
    MEMBER_ASSIGNED = "member.assigned"
    MEMBER_REMOVED = "member.removed"
    STAGE_CHANGED = "group.stage_changed"
    STATUS_CHANGED = "group.status_changed"


SIGNATURE_HEADER = "X-Buying-Groups-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``.

    The timestamp is signed too, so a receiver can refuse replays of old deliveries.
    """
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance: int = 300) -> bool:
    """Check a signature header as a webhook receiver would."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def retry_delay(attempts: int, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds to wait before the next delivery after ``attempts`` failures (exponential)."""
    return float(min(cap, base ** max(attempts, 0)))
