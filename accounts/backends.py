"""Log in with username, mobile number or resident ID number plus password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from swms.ids import normalize_ric


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        User = get_user_model()
        identifier = username.strip()
        candidates = list(
            User.objects.filter(
                Q(username=identifier) | Q(phone=identifier) | Q(id_number=normalize_ric(identifier))
            )[:2]
        )
        if len(candidates) != 1:
            # Unknown (or ambiguous) identifier: run the hasher anyway so timing does not tell.
            User().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
