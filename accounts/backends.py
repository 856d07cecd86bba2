"""Log in with username, mobile number or resident ID number plus password."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from swms.ids import normalize_ric
from swms.pii import mask_id_number, mask_phone

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def identifier_candidates(identifier: str):
    """Accounts the typed identifier may name: by username, mobile number (full-width digits folded)
    or normalized ID number. At most two are fetched: more than one means ambiguous."""
    identifier = (identifier or "").strip()
    if not identifier:
        return []
    User = get_user_model()
    return list(
        User.objects.filter(
            Q(username=identifier)
            | Q(phone=identifier.translate(_FULLWIDTH_DIGITS))
            | Q(id_number=normalize_ric(identifier))
        )[:2]
    )


def canonical_identifier(identifier: str) -> str:
    """The key login throttling counts failures under (A4): the account's username when the
    identifier names exactly one account, else the stripped identifier (masked when it is an ID or
    mobile number). Without it, typing the same account as username, phone, ID number, lowercase x
    or full-width digits would each get their own allowance of failed attempts."""
    candidates = identifier_candidates(identifier)
    if len(candidates) == 1:
        return candidates[0].get_username()
    identifier = (identifier or "").strip()
    # An unknown ID or mobile number is still personal data: it reaches the lockout table and the
    # security log only masked (P1, L4).
    ric = normalize_ric(identifier)
    if re.fullmatch(r"\d{17}[\dX]|\d{15}", ric):
        return mask_id_number(ric)
    phone = identifier.translate(_FULLWIDTH_DIGITS)
    if re.fullmatch(r"1\d{10}", phone):
        return mask_phone(phone)
    return identifier


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        User = get_user_model()
        candidates = identifier_candidates(username)
        if len(candidates) != 1:
            # Unknown (or ambiguous) identifier: run the hasher anyway so timing does not tell.
            User().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of each request, with its region in the same query: every page's top bar
        shows it and scoping reads its MPTT numbers."""
        try:
            user = get_user_model()._default_manager.select_related("region").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
