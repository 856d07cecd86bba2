"""Request helpers."""

import ipaddress
import re

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address for lockout and audit (D3).

    With SWMS_TRUSTED_PROXY_COUNT = N reverse proxies in front, the client is the Nth address from
    the right of X-Forwarded-For (each proxy appends the address it saw); anything further left
    was written by the client and is not trusted. With N = 0 the header is ignored entirely.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "SWMS_TRUSTED_PROXY_COUNT", 0)
    if count > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count:
            remote = forwarded[-count]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


# A path on this site as a reversed URL looks: "/" then unreserved characters, "/" and %-escapes; no query,
# fragment, backslash, whitespace or control character.
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~/%]*")


def safe_local_path(value, request=None) -> str:
    """`value` if it is a path on this site that is safe to put into a link, else "" (the caller drops it).

    Only a single leading "/" (not "//" or "/\\", which browsers take for another host), nothing but path
    characters, no scheme, host, query or fragment, and the same after %-decoding (so "/%5Cevil" and
    "/%2F%2Fevil" are refused too); and Django's `url_has_allowed_host_and_scheme` must accept it."""
    from urllib.parse import unquote

    from django.utils.http import url_has_allowed_host_and_scheme

    if not isinstance(value, str) or not value or len(value) > 2000:
        return ""
    if not _LOCAL_PATH.fullmatch(value):
        return ""
    decoded = unquote(value)
    if decoded.startswith(("//", "/\\")) or "\\" in decoded or any(not ch.isprintable() for ch in decoded):
        return ""
    hosts = {request.get_host()} if request is not None else None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=hosts) or not url_has_allowed_host_and_scheme(
            decoded, allowed_hosts=hosts):
        return ""
    return value
