"""Hash chain over the security event log (SECURITY.md L2, P3).

Each `SecurityEvent` row stores `prev_hash` (the `entry_hash` of the row before it, in id order) and
`entry_hash` = SHA-256 of a canonical serialization of the row's fields and `prev_hash`. A row changed, inserted
or removed outside the application (a psql session past the append-only triggers, a restored dump) breaks the
link at that row, and `manage.py verify_audit_chain` names it.

- Fields covered: kind, created_at (UTC, ISO 8601 with microseconds), username, subject_hash, ip_address,
  success, detail, prev_hash. Not `actor_id`/`target_id`: a user's deletion sets them to NULL (SET_NULL), which
  must not break the chain; they are guarded by the append-only trigger instead, which lets them change only to
  NULL (swms/append_only.py). The account the event is about is covered through `username`.
- Writers are serialized: on PostgreSQL a transaction-scoped advisory lock is taken before the last row is read
  and held until the new row commits, so two processes logging at once cannot both chain onto the same row
  (fork). SQLite (the embedded demo) serializes writes itself.
- The chain starts at a row whose `prev_hash` is empty (the first event ever), or, after a retention purge, at
  the first remaining row: the purge logs a LOG_PURGE event whose detail names that row and its `prev_hash`
  (`anchor_detail`), and that event is itself in the chain.
- Off the box (L2's second half): once a row commits, one line "security event #<id> <kind> <entry_hash>" goes to
  the `swms.audit` logger, which the deployment ships elsewhere (stdout to the log collector, or syslog with
  SWMS_AUDIT_SYSLOG). The chain alone cannot show a cut-off tail or a chain rebuilt by a database superuser;
  `manage.py verify_audit_chain --shipped FILE` compares the rows with the shipped lines and shows both.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC

from django.db import connection, transaction

# pg_advisory_xact_lock key of the chain's writers ("SWMSCHN" as an integer).
LOCK_KEY = 0x53574D5343484E
SHIPPED_RE = re.compile(r"security event #(?P<id>\d+) (?P<kind>[a-z_]+) (?P<hash>[0-9a-f]{64})")
shipped_log = logging.getLogger("swms.audit")
ANCHOR_RE = re.compile(r"chain starts at #(?P<id>\d+) after (?P<prev>[0-9a-f]{64}|-)")
FIELDS = ("kind", "created_at", "username", "subject_hash", "ip_address", "success", "detail", "prev_hash")


def _ip(value) -> str | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(str(value)).compressed
    except ValueError:
        return str(value)


def canonical(event) -> bytes:
    """The bytes that are hashed: a JSON object of the covered fields, keys sorted, no spaces, UTF-8."""
    created = event.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    data = {
        "kind": event.kind,
        "created_at": created,
        "username": event.username or "",
        "subject_hash": event.subject_hash or "",
        "ip_address": _ip(event.ip_address),
        "success": bool(event.success),
        "detail": event.detail or "",
        "prev_hash": event.prev_hash or "",
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(event) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def append(**fields):
    """Insert one security event at the end of the chain and return it. The only writer of the table
    (through accounts.services.security_event_record)."""
    from .models import SecurityEvent

    with transaction.atomic():
        _lock()
        last = SecurityEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        event = SecurityEvent(**fields)
        event.prev_hash = last or ""
        event.entry_hash = entry_hash(event)
        event.save(force_insert=True)
    # Only once the row is committed, so a rolled-back event is not shipped; no personal data in the line.
    transaction.on_commit(lambda: shipped_log.info("security event #%s %s %s", event.pk, event.kind, event.entry_hash))
    return event


def anchor_detail(first_id: int | None, prev_hash: str) -> str:
    """The LOG_PURGE detail that records where the chain now starts (fits the 255 characters of `detail`)."""
    return f"chain starts at #{first_id or 0} after {prev_hash or '-'}"


@dataclass
class Break:
    id: int
    created_at: object
    reason: str

    def __str__(self):
        return f"#{self.id} ({self.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f} UTC): {self.reason}"


def _anchors() -> set[tuple[int, str]]:
    from .models import SecurityEvent

    found = set()
    rows = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOG_PURGE).values_list("detail", flat=True)
    for detail in rows.iterator():
        match = ANCHOR_RE.search(detail)
        if match:
            found.add((int(match["id"]), "" if match["prev"] == "-" else match["prev"]))
    return found


@transaction.atomic  # streamed from a server-side cursor, also through PgBouncer's transaction pooling (#17)
def verify(chunk_size: int = 2000) -> tuple[int, Break | None]:
    """Walk the chain in id order (streamed). Returns (rows checked, first break or None)."""
    from .models import SecurityEvent

    columns = ("id", *[f for f in FIELDS], "entry_hash")
    rows = SecurityEvent.objects.order_by("id").only(*columns)
    previous = None
    checked = 0
    anchors = None
    for event in rows.iterator(chunk_size=chunk_size):
        checked += 1
        if previous is None:
            if event.prev_hash:
                anchors = _anchors() if anchors is None else anchors
                if (event.id, event.prev_hash) not in anchors:
                    return checked, Break(event.id, event.created_at,
                                          "the first row links to a row that is missing and no purge recorded it")
        elif event.prev_hash != previous:
            return checked, Break(event.id, event.created_at,
                                  "prev_hash does not match the row before it (a row was removed or changed)")
        if entry_hash(event) != event.entry_hash:
            return checked, Break(event.id, event.created_at, "the row's content does not match its hash")
        previous = event.entry_hash
    return checked, None


@dataclass
class ShippedCheck:
    lines: int
    # Shipped rows no longer in the table although no retention purge removed them (ids), rows whose hash
    # differs from the shipped one, and whether the table ends before the last shipped row (a cut-off tail).
    missing: list[int]
    changed: list[int]
    tail_cut: bool

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.tail_cut)


def verify_shipped(lines) -> ShippedCheck:
    """Compare the shipped log lines (text or JSON logs: the line is found by its words) with the table."""
    from .models import SecurityEvent

    shipped: dict[int, str] = {}
    for line in lines:
        match = SHIPPED_RE.search(line)
        if match:
            shipped[int(match["id"])] = match["hash"]
    if not shipped:
        return ShippedCheck(0, [], [], False)
    # Rows before the chain's start were removed by a recorded retention purge: not missing.
    anchors = _anchors()
    start = max((first for first, _prev in anchors), default=0)
    stored = dict(SecurityEvent.objects.filter(pk__in=list(shipped)).values_list("pk", "entry_hash"))
    missing = sorted(pk for pk in shipped if pk not in stored and pk >= start)
    changed = sorted(pk for pk, digest in stored.items() if digest != shipped[pk])
    last = SecurityEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return ShippedCheck(len(shipped), missing, changed, tail_cut=last < max(shipped))
