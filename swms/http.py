"""Request helpers."""

import ipaddress

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
