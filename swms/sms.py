"""Pluggable SMS backends (like Django's email backends). SWMS_SMS_BACKEND names the class.

Production plugs in a provider adapter: a subclass of BaseSMSBackend whose send() calls the
provider's API (Aliyun, Tencent Cloud, a government SMS gateway).
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SMS:
    to: str
    text: str


class SMSTransientError(Exception):
    """Raised by a backend when the provider may accept the message later (busy, throttled, timed out): the
    delivery task retries with backoff. Any other exception (a refused number) is not retried."""


class BaseSMSBackend(abc.ABC):
    """A backend sends one message; a provider adapter subclasses this (it cannot be instantiated)."""

    @abc.abstractmethod
    def send(self, message: SMS) -> None:
        """Deliver `message`, raising on failure: SMSTransientError (or a network error) is retried with
        backoff by the delivery task, anything else is not."""


class ConsoleBackend(BaseSMSBackend):
    """Prints the message: for development."""

    def send(self, message: SMS) -> None:
        print(f"[SMS to {message.to}] {message.text}")  # noqa: T201


class FileBackend(BaseSMSBackend):
    """Appends one JSON line per message to SWMS_SMS_FILE_PATH."""

    def send(self, message: SMS) -> None:
        path = Path(settings.SWMS_SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"to": message.to, "text": message.text, "at": timezone.now().isoformat()},
                                ensure_ascii=False) + "\n")


# What the in-memory backend has sent; tests read and clear it.
outbox: list[SMS] = []


class LocmemBackend(BaseSMSBackend):
    """Keeps messages in `swms.sms.outbox`: for tests."""

    def send(self, message: SMS) -> None:
        outbox.append(message)


def send_sms(to: str, text: str) -> None:
    import_string(settings.SWMS_SMS_BACKEND)().send(SMS(to=to, text=text))
