from django.conf import settings
from django.utils.functional import SimpleLazyObject

from accounts.operator_roles import MANAGE_ACCOUNTS, OPERATE_SYSTEM, READ_AUDIT_LOGS, can, operator_role


def shell(request):
    """What the page shell needs: site name, the signed-in user, and their unread inbox count."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated

    def unread():
        from notices.models import Message

        return Message.objects.filter(user=user).unread().count() if signed_in else 0

    from swms.review_queues import all_queues

    def unread_notices():
        from notices.notice_services import unread_notice_count

        return unread_notice_count(user) if signed_in else 0

    def station_choices():
        from stations.current import stations_for

        return list(stations_for(user)) if signed_in and user.kind == "organization" else []

    def current_station():
        from stations.current import current_station as pick

        return pick(request) if signed_in and user.kind in ("station", "organization") else None

    return {
        # Every registered review queue, for the officials' navigation.
        "review_queues": all_queues() if signed_in and (user.is_official or can(user, OPERATE_SYSTEM)) else (),
        "SITE_NAME": settings.SWMS_SITE_NAME,
        # The top-bar station switcher of an organization operating stations (manual 2.2).
        "station_choices": SimpleLazyObject(station_choices),
        "current_station": SimpleLazyObject(current_station),
        "shell_user": user if signed_in else None,
        # The operator's capabilities (三员, accounts/operator_roles.py) for the navigation: no query.
        "ops": {"system": can(user, OPERATE_SYSTEM), "accounts": can(user, MANAGE_ACCOUNTS),
                "audit": can(user, READ_AUDIT_LOGS), "role": operator_role(user) or ("superuser" if user.is_superuser else "")} if signed_in else {},
        # Lazy: counted only when a template shows it (the top bar), one indexed query.
        "unread_messages": SimpleLazyObject(unread),
        # Notices that reached the user and are not opened yet (computed from scope, one query).
        "unread_notices": SimpleLazyObject(unread_notices),
    }
