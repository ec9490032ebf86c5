"""Quality events (resolutions, reopens, complaints, surveys) into the quality counters."""

from __future__ import annotations

from slamon.adapters.metrics import SlaMetrics
from slamon.core.engine import Ticket
from slamon.core.events import (
    COMPLAINT_FILED,
    COMPLAINT_RESOLVED,
    REOPENED,
    RESOLVED,
    SURVEY,
    Event,
)

QUALITY_TYPES = frozenset((RESOLVED, REOPENED, SURVEY, COMPLAINT_FILED, COMPLAINT_RESOLVED))


def count_quality(metrics: SlaMetrics, ticket: Ticket | None, event: Event) -> None:
    """Resolutions (first-time fix), reopens and survey scores, as they are applied."""
    if event.type not in QUALITY_TYPES:
        return
    if ticket is None or not ticket.fold.priority:  # an orphan: no created event yet
        return
    fold = ticket.fold
    where = metrics.where(fold.service, fold.region)
    if event.type == RESOLVED:
        metrics.resolution(fold.priority, where, event.first_time_fix)
    elif event.type == REOPENED:
        metrics.reopen(fold.priority, where)
    elif event.type == COMPLAINT_FILED:
        metrics.complaint(fold.priority, where, "filed")
    elif event.type == COMPLAINT_RESOLVED:
        metrics.complaint(fold.priority, where, "resolved")
    elif event.score is not None:
        metrics.survey(fold.priority, where, event.score)
        metrics.survey_category(fold.product_category, event.score)
