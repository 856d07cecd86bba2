"""No ID numbers in URLs (P1/P2): an exact ID-number search travels as the number's keyed hash.

A list whose search box takes a name or an ID number (`q`) calls `id_query_redirect(request)` first: a
POSTed search, or a GET whose `q` is an ID number, is answered by a redirect to the same page with the
number replaced by `idh=<keyed hash>` (the other parameters kept), so the address bar, the browser history,
bookmarks, paging links, exports and the access log of every later request carry no ID number. The list then
filters `<field>_hash = idh` (`id_hash_filter`). Only exact matches are possible: the column is encrypted
(swms.encrypted_fields), and a partial ID number cannot be searched in SQL.
"""

from __future__ import annotations

import re

from django.http import HttpResponseRedirect

from swms.encrypted_fields import hash_value
from swms.ids import normalize_ric

PARAM = "idh"
_HASH = re.compile(r"[0-9a-f]{64}")


def as_id_number(value: str) -> str:
    """`value` as a normalized ID number if it looks like one (18 characters, 17 digits), else ""."""
    number = normalize_ric("".join((value or "").split()))
    return number if len(number) == 18 and number[:17].isdigit() else ""


def id_query_redirect(request, param: str = "q", *, post_field: str | None = None):
    """The redirect replacing an ID number in the GET `param`, or in the POSTed `post_field`, by its hash; None
    when there is nothing to replace (a name, an empty box, a POST of something else)."""
    query = request.GET.copy()
    if request.method == "POST":
        if not post_field or post_field not in request.POST:
            return None
        value = request.POST.get(post_field, "").strip()
        query.pop(post_field, None)
        query.pop("page", None)
        if not as_id_number(value):  # not an ID number: back to the list without an ID search
            query.pop(PARAM, None)
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
    else:
        value = query.get(param, "")
        if not as_id_number(value):
            return None
        query.pop(param, None)
    query.pop("page", None)
    query[PARAM] = hash_value(as_id_number(value))
    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")


def id_hash(request) -> str | None:
    """The `idh` of the request: a well-formed hash, "" for a malformed one (matches nothing), None if absent."""
    value = request.GET.get(PARAM)
    if value is None:
        return None
    return value if _HASH.fullmatch(value) else ""


def id_hash_filter(queryset, field: str, hashed: str | None):
    """`queryset` narrowed to the ID number whose hash is `hashed` (`field`: the encrypted field's lookup path)."""
    if hashed is None:
        return queryset
    if not hashed:
        return queryset.none()
    return queryset.filter(**{f"{field}_hash": hashed})


def is_encrypted(model, path: str) -> bool:
    """Whether the lookup path `path` from `model` ends at an encrypted field (an ID or mobile number)."""
    from swms.encrypted_fields import EncryptedCharField

    if not path:
        return False
    *relations, last = path.split("__")
    for name in relations:
        model = model._meta.get_field(name).related_model
    return isinstance(model._meta.get_field(last), EncryptedCharField)
