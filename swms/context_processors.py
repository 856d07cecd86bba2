from django.conf import settings
from django.utils.functional import SimpleLazyObject


def shell(request):
    """What the page shell needs: site name, the signed-in user, and their unread inbox count."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated

    def unread():
        from notices.models import Message

        return Message.objects.filter(user=user).unread().count() if signed_in else 0

    return {
        "SITE_NAME": settings.SWMS_SITE_NAME,
        "shell_user": user if signed_in else None,
        # Lazy: counted only when a template shows it (the top bar), one indexed query.
        "unread_messages": SimpleLazyObject(unread),
    }
