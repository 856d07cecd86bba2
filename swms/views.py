import sys

from django.shortcuts import render


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # Generic page: no stack trace, no detail (D1). A lost database (raised by a middleware: views' errors are
    # answered by swms.health.DatabaseUnavailableMiddleware) gets the 503 page, rendered without the database.
    from swms.health import database_unavailable_response, is_database_unavailable

    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return render(request, "500.html", status=500)


def permission_denied(request, exception=None):
    """403, written to the security log (L1: authorization denials) without the query string."""
    from accounts.models import SecurityEvent
    from accounts.services import security_event_record

    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        security_event_record(
            kind=SecurityEvent.Kind.ACCESS_DENIED, request=request, target=request.user, success=False,
            detail=f"{request.method} {request.path}"[:255],
        )
    return render(request, "403.html", status=403)
