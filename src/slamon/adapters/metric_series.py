"""What slamon's collectors build their series from: histograms over plain ints that keep
exemplars, and bounded label values (docs/metrics.md)."""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

EXEMPLAR_MAX_CHARS = 128  # OpenMetrics: label names and values of one exemplar
Where = tuple[str, str]  # (service, region) label values


class PlainHistogram:
    """Cumulative-at-scrape buckets over plain ints: no lock, one bisect per observation.

    Keeps the latest exemplar of each bucket (OpenMetrics shows them; text 0.0.4 does not).
    """

    __slots__ = ("counts", "edges", "exemplars", "total")

    def __init__(self, edges: tuple[float, ...]) -> None:
        self.edges = edges  # ends with +Inf
        self.counts = [0] * len(edges)
        self.total = 0.0
        self.exemplars: list[Exemplar | None] = [None] * len(edges)

    def observe(self, value: float, exemplar: dict[str, str] | None = None) -> None:
        index = bisect_left(self.edges, value)
        self.counts[index] += 1
        self.total += value
        if exemplar is not None:
            self.exemplars[index] = Exemplar(exemplar, value)

    def buckets(self) -> list[tuple[str, float] | tuple[str, float, Exemplar]]:
        out: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
        running = 0
        for edge, count, exemplar in zip(self.edges, self.counts, self.exemplars, strict=True):
            running += count
            le = str(floatToGoString(edge))  # type: ignore[no-untyped-call]
            out.append((le, float(running)) if exemplar is None else (le, float(running), exemplar))
        return out


def ticket_exemplar(ticket_id: str) -> dict[str, str] | None:
    """The exemplar labels linking an observation to its ticket; None when the id is longer
    than OpenMetrics allows (128 characters of label names and values): never cut an id."""
    return {"ticket_id": ticket_id} if len(ticket_id) + 9 <= EXEMPLAR_MAX_CHARS else None


class RegionLabels:
    """Region label values, capped: the first ``limit`` distinct regions, then ``other``.

    Regions are free strings from the publishers; a typo per ticket must not create a
    series per ticket.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.known: set[str] = set()

    def __call__(self, region: str | None) -> str:
        if region is None or region == "":
            return "none"
        if region in self.known:
            return region
        if len(self.known) < self.limit:
            self.known.add(region)
            return region
        return "other"
