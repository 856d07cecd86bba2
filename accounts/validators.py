"""Password rules beyond Django's: MLPS 复杂度 (3 of 4 character classes) and no personal data."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[^a-zA-Z0-9]"),
)


class CharacterClassesValidator:
    """At least `min_classes` of: lowercase, uppercase, digits, other characters."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if sum(1 for c in CLASSES if c.search(password)) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return ngettext(
            "Your password must mix at least %(n)d kind of character: lowercase letters, "
            "uppercase letters, digits, symbols.",
            "Your password must mix at least %(n)d kinds of characters: lowercase letters, "
            "uppercase letters, digits, symbols.",
            self.min_classes,
        ) % {"n": self.min_classes}


class PersonalDataValidator:
    """The password may not contain the username, phone number, full name or any 6+ digits of the
    ID number. Django's UserAttributeSimilarityValidator misses short Chinese names (张伟 is two
    characters; its length ratio rule skips them), so names are checked for containment here."""

    def validate(self, password, user=None):
        if user is None:
            return
        lowered = password.lower()
        for value in (getattr(user, "username", ""), getattr(user, "phone", "")):
            if value and len(value) >= 4 and value.lower() in lowered:
                raise ValidationError(self.get_help_text(), code="password_personal_data")
        name = "".join((getattr(user, "full_name", "") or "").split()).lower()
        if name and (len(name) >= 4 or (len(name) >= 2 and not name.isascii())) and name in lowered:
            raise ValidationError(self.get_help_text(), code="password_personal_data")
        id_number = (getattr(user, "id_number", "") or "").lower()
        if id_number:
            for i in range(len(id_number) - 5):
                if id_number[i : i + 6] in lowered:
                    raise ValidationError(self.get_help_text(), code="password_personal_data")

    def get_help_text(self):
        return _("Your password can't contain your username, phone number or part of your ID number.")
