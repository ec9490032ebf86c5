"""On-call alerts: what is firing for a ticket now, and what to tell Alertmanager and pagers.

Two pure pieces (no I/O, no clock reads; ``now`` is passed in):

- :func:`firing`: a ticket's active alerts, read from the engine's per-ticket state
  (``risk_sent`` / ``standing`` masks, the running clocks). ``SlaBreached`` fires while a
  breach stands on a running clock (paused included: a paused clock is not stopped);
  ``SlaAtRisk`` while the at-risk alert went out, its at-risk point (at the current
  priority) is reached, no breach stands and the clock runs. A resolved ticket has
  nothing left to act on: none of its alerts fires (a reopen brings back what runs).
- :class:`Pager`: the transitions (fire, update, resolve, resend) that keep a receiver's
  view equal to :func:`firing`, compared with the last label set sent per
  (ticket, SLA, alertname). An alert's identity is its label set (Alertmanager's
  contract), so a label change (priority) resolves the old alert and fires a new one.

docs/oncall.md explains the lifecycle; tests/core/test_oncall.py pins every rule.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from slamon.core import clocks
from slamon.core.durations import format_duration
from slamon.core.engine import Ticket
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S, format_rfc3339

SLA_BREACHED = "SlaBreached"
SLA_AT_RISK = "SlaAtRisk"
ALERTNAMES = (SLA_BREACHED, SLA_AT_RISK)
SEVERITIES = ("page", "ticket")


class SeverityRule(NamedTuple):
    """``severity`` for alerts named ``alertname`` whose priority is in ``priorities``."""

    alertname: str
    priorities: frozenset[str]
    severity: str


# The severity rule, as data: the first rule that matches decides, else DEFAULT_SEVERITY.
# A breach of a P1 or P2 ticket wakes someone; everything else is work-hours ticket work.
SEVERITY_RULES: tuple[SeverityRule, ...] = (
    SeverityRule(SLA_BREACHED, frozenset({"P1", "P2"}), "page"),
)
DEFAULT_SEVERITY = "ticket"
RESOLVED_RESEND_NS = 15 * 60 * NS_PER_S  # resolved alerts are re-sent this long
ENDS_AT_FACTOR = 4  # a firing alert's endsAt = now + 4 x the resend interval
_SLA_WORDS = {sla: sla.replace("_", " ") for sla in SLAS}


def severity(
    alertname: str, priority: str, rules: tuple[SeverityRule, ...] = SEVERITY_RULES
) -> str:
    """The severity label of an alert: the first matching rule's, else ``ticket``."""
    for rule in rules:
        if rule.alertname == alertname and priority in rule.priorities:
            return rule.severity
    return DEFAULT_SEVERITY


class Firing(NamedTuple):
    """One active alert: identity labels, its instant and the mutable facts (annotations)."""

    alertname: str
    ticket_id: str
    sla: str
    priority: str
    service: str
    region: str
    severity: str
    starts_at: int  # the at-risk point or the breach instant (event time), ns
    deadline: int | None  # when elapsed reaches the target; None while paused
    target: int  # ns of business time
    calendar: str

    @property
    def labels(self) -> tuple[str, str, str, str, str, str, str]:
        """The identity: never changes during the alert's life."""
        return (self.alertname, self.ticket_id, self.sla, self.priority, self.service,
                self.region, self.severity)  # fmt: skip

    def label_map(self) -> dict[str, str]:
        return {
            "alertname": self.alertname, "ticket_id": self.ticket_id, "sla": self.sla,
            "priority": self.priority, "service": self.service, "region": self.region,
            "severity": self.severity,
        }  # fmt: skip

    def annotations(self) -> dict[str, str]:
        """Mutable facts, and a summary a person can read."""
        deadline = "paused" if self.deadline is None else format_rfc3339(self.deadline)
        target = format_duration(self.target)
        sla = _SLA_WORDS.get(self.sla, self.sla)
        where = f"{self.priority}, {self.service}, region {self.region}"
        if self.alertname == SLA_BREACHED:
            what = f"{sla} target {target} breached at {format_rfc3339(self.starts_at)}"
        else:
            what = f"{sla} at risk since {format_rfc3339(self.starts_at)}, due {deadline}"
        return {
            "summary": f"Ticket {self.ticket_id} ({where}): {what} ({self.calendar} calendar)",
            "deadline": deadline,
            "target": target,
            "calendar": self.calendar,
        }


def firing(
    policy: SlaPolicy, ticket: Ticket, now: int, rules: tuple[SeverityRule, ...] = SEVERITY_RULES
) -> tuple[Firing, ...]:
    """The alerts active for ``ticket`` at ``now``, one per (SLA) at most.

    Read from what the engine already keeps: nothing stored per ticket. An instant is
    recomputed from the clock (``clocks.exceed`` / ``clocks.reach``) and never later
    than ``now``.
    """
    fold = ticket.fold
    hot = fold.running_mask() & (ticket.risk_sent | ticket.standing)
    if not hot or not fold.priority or fold.resolved:  # resolved: nothing left to act on
        return ()
    calendar, targets, warns = policy.rules(fold.priority, fold.terms)  # the ticket's terms
    region = fold.region or "none"
    out: list[Firing] = []
    for index in range(3):
        bit = 1 << index
        if not hot & bit:
            continue
        spans, since = fold.clock(index)
        target = targets[index]
        if ticket.standing & bit:
            name = SLA_BREACHED
            instant = clocks.exceed(spans, since, calendar, target)
        elif since is not None:  # at risk and running (a pause resolves it)
            name = SLA_AT_RISK
            instant = clocks.reach(spans, since, calendar, warns[index])
            if instant is None or instant > now:  # a lowered priority moved it away
                continue
        else:
            continue
        starts = now if instant is None else min(instant, now)
        deadline = None if since is None else clocks.reach(spans, since, calendar, target)
        out.append(Firing(
            name, ticket.id, SLAS[index], fold.priority, fold.service, region,
            severity(name, fold.priority, rules), starts, deadline, target, calendar.name,
        ))  # fmt: skip
    return tuple(out)


FIRE, UPDATE, RESOLVE, RESEND = "fire", "update", "resolve", "resend"
Labels = tuple[str, str, str, str, str, str, str]


class Transition(NamedTuple):
    """What to send about one alert: it fires, changed annotations, resolved, or again."""

    change: str  # FIRE, UPDATE, RESOLVE or RESEND
    alert: Firing
    ends_at: int  # firing: now + 4 x resend; resolved: the instant it stopped mattering
    resolved: bool = False

    @property
    def status(self) -> str:
        return "resolved" if self.resolved else "firing"


class _Sent:
    """The last state sent of one label set."""

    __slots__ = ("alert", "last_sent", "resolved_at", "shard")

    def __init__(self, alert: Firing, shard: int, last_sent: int) -> None:
        self.alert = alert
        self.shard = shard
        self.last_sent = last_sent
        self.resolved_at: int | None = None


class Pager:
    """Keeps what was last sent per label set; returns the transitions to send.

    Firing alerts are re-sent every ``resend_ns`` with ``endsAt = now + 4 x resend``;
    resolved ones every ``resend_ns`` for 15 minutes with ``endsAt`` = when they were
    resolved. The resend schedule is ordered by last send, so :meth:`due` costs what
    it returns.
    """

    def __init__(self, resend_ns: int, resolved_for_ns: int = RESOLVED_RESEND_NS) -> None:
        if resend_ns <= 0:
            raise ValueError("the resend interval must be positive")
        self.resend_ns = resend_ns
        self.resolved_for_ns = resolved_for_ns
        # ticket id -> (sla, alertname) -> label set currently firing
        self._by_ticket: dict[str, dict[tuple[str, str], Labels]] = {}
        # every label set firing or recently resolved, oldest send first
        self._sent: OrderedDict[Labels, _Sent] = OrderedDict()
        self.active: dict[tuple[str, str], int] = {}  # (alertname, severity) -> firing

    def ends_at(self, now: int) -> int:
        return now + ENDS_AT_FACTOR * self.resend_ns

    def knows(self, ticket_id: str) -> bool:
        """Whether something of this ticket fires (else an empty :func:`firing` is news)."""
        return ticket_id in self._by_ticket

    def firing(self) -> list[Firing]:
        """Every alert firing now, as last sent."""
        return [s.alert for s in self._sent.values() if s.resolved_at is None]

    def update(
        self, ticket_id: str, alerts: Iterable[Firing], now: int, shard: int = 0
    ) -> list[Transition]:
        """Make the ticket's firing set ``alerts``; the transitions that does it.

        Resolves first (an old label set of a pair before the new one fires).
        """
        wanted = {(a.sla, a.alertname): a for a in alerts}
        current = self._by_ticket.get(ticket_id)
        if not wanted and current is None:
            return []
        out: list[Transition] = []
        current = current if current is not None else {}
        for pair, labels in list(current.items()):
            alert = wanted.get(pair)
            if alert is None or alert.labels != labels:
                out.append(self._resolve(labels, now))
                del current[pair]
        for pair, alert in wanted.items():
            labels = alert.labels
            if pair in current:
                sent = self._sent[labels]
                if sent.alert != alert:  # same identity, other facts (deadline, instant)
                    sent.alert = alert
                    self._touch(labels, sent, now)
                    out.append(Transition(UPDATE, alert, self.ends_at(now)))
                continue
            current[pair] = labels
            self._fire(labels, alert, shard, now)
            out.append(Transition(FIRE, alert, self.ends_at(now)))
        if current:
            self._by_ticket[ticket_id] = current
        else:
            self._by_ticket.pop(ticket_id, None)
        return out

    def _fire(self, labels: Labels, alert: Firing, shard: int, now: int) -> None:
        previous = self._sent.pop(labels, None)  # a resolved one fires again: not resolved
        if previous is not None and previous.resolved_at is None:  # pragma: no cover
            # cannot happen (a label set names its pair); keep the counts right anyway
            old = (previous.alert.alertname, previous.alert.severity)
            self.active[old] -= 1
        self._sent[labels] = _Sent(alert, shard, now)
        key = (alert.alertname, alert.severity)
        self.active[key] = self.active.get(key, 0) + 1

    def _resolve(self, labels: Labels, now: int) -> Transition:
        sent = self._sent[labels]
        sent.resolved_at = max(now, sent.alert.starts_at)
        self._touch(labels, sent, now)
        key = (sent.alert.alertname, sent.alert.severity)
        self.active[key] -= 1
        return Transition(RESOLVE, sent.alert, sent.resolved_at, resolved=True)

    def _touch(self, labels: Labels, sent: _Sent, now: int) -> None:
        sent.last_sent = now
        self._sent.move_to_end(labels)

    def due(self, now: int) -> list[Transition]:
        """Re-sends due at ``now``: firing ones, and resolved ones younger than 15 min."""
        out: list[Transition] = []
        sent_map = self._sent
        while sent_map:
            labels, sent = next(iter(sent_map.items()))
            if sent.last_sent + self.resend_ns > now:
                break
            if sent.resolved_at is not None and now - sent.resolved_at >= self.resolved_for_ns:
                del sent_map[labels]
                continue
            self._touch(labels, sent, now)
            if sent.resolved_at is not None:
                out.append(Transition(RESEND, sent.alert, sent.resolved_at, resolved=True))
            else:
                out.append(Transition(RESEND, sent.alert, self.ends_at(now)))
        return out

    def forget(self, shards: set[int]) -> int:
        """Drop every alert of these shards without resolving (another worker owns them)."""
        gone = [labels for labels, sent in self._sent.items() if sent.shard in shards]
        for labels in gone:
            sent = self._sent.pop(labels)
            if sent.resolved_at is None:
                key = (sent.alert.alertname, sent.alert.severity)
                self.active[key] -= 1
                pairs = self._by_ticket.get(sent.alert.ticket_id)
                if pairs is not None:
                    pairs.pop((sent.alert.sla, sent.alert.alertname), None)
                    if not pairs:
                        del self._by_ticket[sent.alert.ticket_id]
        return len(gone)

    def __len__(self) -> int:
        """Label sets held: firing, and resolved still re-sent."""
        return len(self._sent)
