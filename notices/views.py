from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from swms.pagination import paginate

from .models import Message
from .services import message_mark_read, messages_mark_all_read


@login_required
def inbox(request):
    """我的消息: unread first, then newest."""
    rows = Message.objects.filter(user=request.user).order_by(F("read_at").asc(nulls_first=True), "-created_at")
    page = paginate(request, rows, 20)
    return render(request, "notices/inbox.html", {"page": page})


@login_required
def message_detail(request, pk):
    # Only the recipient's own messages exist for them: anyone else's is a 404.
    message = get_object_or_404(Message, pk=pk, user=request.user)
    message_mark_read(message=message)
    safe_link = message.link if message.link.startswith("/") and not message.link.startswith("//") else ""
    return render(request, "notices/message.html", {"message": message, "safe_link": safe_link})


@require_POST
@login_required
def mark_all_read(request):
    count = messages_mark_all_read(user=request.user)
    messages.success(request, _("%(count)d messages marked read.") % {"count": count})
    return redirect("notices:inbox")
