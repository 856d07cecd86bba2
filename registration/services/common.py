"""What every registration service shares: the domain error and the editable check."""

from __future__ import annotations

from django.utils.translation import gettext as _


class RegistrationError(Exception):
    """A domain error with a message fit for the user."""


def _ensure_editable(obj) -> None:
    if not obj.is_editable:
        raise RegistrationError(_("This has been submitted and cannot be changed until it is reviewed."))
