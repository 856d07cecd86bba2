from django.conf import settings


def shell(request):
    """What the page shell needs: site name and the signed-in user's role and region."""
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.SWMS_SITE_NAME,
        "shell_user": user if user is not None and user.is_authenticated else None,
    }
