from functools import wraps

from django.core.exceptions import PermissionDenied


def kind_required(*kinds: str, allow_superuser: bool = True):
    """Only accounts of these kinds (and superusers, unless refused) may use the view; others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not ((allow_superuser and user.is_superuser) or user.kind in kinds):
                raise PermissionDenied
            if "official" in kinds and user.kind == "official" and user.region_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


official_required = kind_required("official")
