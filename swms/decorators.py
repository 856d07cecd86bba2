from functools import wraps

from django.core.exceptions import PermissionDenied


def kind_required(*kinds: str):
    """Only accounts of these kinds (or superusers) may use the view; others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not (user.is_superuser or user.kind in kinds):
                raise PermissionDenied
            if "official" in kinds and user.kind == "official" and user.region_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


official_required = kind_required("official")
