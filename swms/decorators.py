from functools import wraps

from django.core.exceptions import PermissionDenied

from accounts.operator_roles import OPERATE_SYSTEM, can


def kind_required(*kinds: str, allow_superuser: bool = True, operator_capability: str | None = None):
    """Only accounts of these kinds, and operators holding `operator_capability` (by default the system
    administrator's, OPERATE_SYSTEM, unless `allow_superuser` is False), may use the view; others get 403."""
    capability = operator_capability or (OPERATE_SYSTEM if allow_superuser else None)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not ((capability and can(user, capability)) or user.kind in kinds):
                raise PermissionDenied
            if "official" in kinds and user.kind == "official" and user.region_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


official_required = kind_required("official")
