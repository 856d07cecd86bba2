"""Log in with username, mobile number or resident ID number plus password."""


from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from swms.ids import normalize_ric
from swms.pii import ID_LIKE, MOBILE_LIKE, log_identifier

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
    identifier names exactly one account, else the stripped identifier (an ID or mobile number
    normalized). Without it, typing the same account as username, phone, ID number, lowercase x
    or full-width digits would each get their own allowance of failed attempts."""
    candidates = identifier_candidates(identifier)
    if len(candidates) == 1:
        return candidates[0].get_username()
    # Unknown: the same number however it was typed (lower-case x, full-width digits); masked where it
    # is stored (axes_username below, security_event_record).
    identifier = (identifier or "").strip()
    ric = normalize_ric(identifier)
    if ID_LIKE.fullmatch(ric):
        return ric
    phone = identifier.translate(_FULLWIDTH_DIGITS)
    return phone if MOBILE_LIKE.fullmatch(phone) else identifier


def axes_key(identifier: str) -> str:
    """The form of an identifier django-axes stores and counts under: an ID or mobile number (unknown, or
    an old account whose username is its ID number) only masked, with a short keyed hash so that two
    numbers sharing a masked form are still counted apart (P1, L4)."""
    shown, hashed = log_identifier(identifier)
    if shown and shown != (identifier or "").strip():
        return f"{shown}#{hashed[:12]}"
    return shown


def axes_username(request, credentials) -> str:
    """AXES_USERNAME_CALLABLE: every username django-axes writes to its tables goes through axes_key."""
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "POST", {}).get("username")
    return axes_key(str(value or ""))


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
