"""Notices: the office's send list and composer (Markdown with a preview), everyone's receive list, read
receipts, reminders, and the public portal of policies, notices and purchased-service projects."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from swms.decorators import official_required
from swms.uploads import serve_private_file

from . import notice_services as services
from .audience import audience_users, notices_for, sent_by_office
from .forms import NoticeFilter, NoticeForm, WithdrawForm
from .models import PUBLIC_CATEGORIES, Notice, NoticeAttachment, NoticeRead, NoticeStatus


def _get_sent(request, pk) -> Notice:
    if request.user.is_superuser:
        return get_object_or_404(Notice, pk=pk)
    return get_object_or_404(sent_by_office(request.user), pk=pk)


@login_required
@official_required
def sent_list(request):
    """发送列表, with the read rate of each notice."""
    form = NoticeFilter(request.GET or None)
    qs = sent_by_office(request.user).select_related("sender").annotate(read_count=Count("reads"))
    if form.is_valid():
        if form.cleaned_data["q"]:
            qs = qs.filter(title__icontains=form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            qs = qs.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
    page = Paginator(qs.order_by("-created_at"), 20).get_page(request.GET.get("page"))
    for n in page:
        n.read_rate = round(n.read_count * 100 / n.audience_count) if n.audience_count else None
    return render(request, "notices/sent_list.html", {"page": page, "form": form})


@login_required
@official_required
def notice_edit(request, pk=None):
    notice = _get_sent(request, pk) if pk else None
    if notice is not None and not notice.is_draft:
        messages.info(request, _("A published notice cannot be edited; withdraw it and send a corrected one."))
        return redirect("notices:sent-detail", pk=notice.pk)
    region = request.user.region
    form = NoticeForm(request.POST or None, request.FILES or None, instance=notice, region=region,
                      initial={"target_regions": list(notice.target_regions.all()) if notice else []})
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in NoticeForm.Meta.fields}
        data["content"] = data.pop("content_source")  # the service takes the Markdown source as "content"
        try:
            notice = services.notice_save(
                actor=request.user, notice=Notice.objects.get(pk=notice.pk) if notice else None, data=data,
                regions=list(form.cleaned_data["target_regions"]), attachments=form.cleaned_data["new_attachments"],
                remove_attachments=[int(x) for x in request.POST.getlist("remove_attachment") if x.isdigit()],
            )
            if request.POST.get("action") == "publish":
                services.notice_publish(actor=request.user, notice=notice)
                messages.success(request, _("The notice was published."))
                return redirect("notices:sent-detail", pk=notice.pk)
        except services.NoticeError as e:
            form.add_error(None, e.message)
            if notice is not None and notice.pk:
                notice.refresh_from_db()
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("notices:notice-edit", pk=notice.pk)
    return render(request, "notices/notice_form.html", {"form": form, "notice": notice})


@require_POST
@login_required
@official_required
def notice_preview(request):
    """The composer's Preview tab (htmx): the Markdown as recipients will see it, rendered and sanitized."""
    html = services.render_markdown(request.POST.get("content_source", ""))
    return render(request, "notices/_preview.html", {"html": html})


@login_required
@official_required
def sent_detail(request, pk):
    """The sender's view: content, audience, who has and has not read it, reminders, withdrawal."""
    notice = _get_sent(request, pk)
    show = request.GET.get("show", "unread")
    reads = NoticeRead.objects.filter(notice=notice)
    audience = audience_users(notice) if not notice.is_draft else None
    rows = None
    if audience is not None:
        if show == "read":
            rows = reads.select_related("user").order_by("-read_at")
        else:
            rows = audience.exclude(pk__in=reads.values("user_id")).select_related("region").order_by("pk")
    page = Paginator(rows, 50).get_page(request.GET.get("page")) if rows is not None else None
    read_count = reads.count()
    return render(request, "notices/sent_detail.html", {
        "notice": notice, "show": show, "page": page, "read_count": read_count,
        "read_rate": round(read_count * 100 / notice.audience_count) if notice.audience_count else None,
        "withdraw_form": WithdrawForm(), "reminders": notice.reminders.order_by("-created_at")[:5],
        "regions": notice.target_regions.all(), "attachments": notice.attachments.all(),
    })


@require_POST
@login_required
@official_required
def notice_publish(request, pk):
    notice = _get_sent(request, pk)
    try:
        services.notice_publish(actor=request.user, notice=notice)
    except services.NoticeError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The notice was published."))
    return redirect("notices:sent-detail", pk=pk)


@require_POST
@login_required
@official_required
def notice_withdraw(request, pk):
    notice = _get_sent(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give the reason for withdrawing the notice."))
    else:
        try:
            services.notice_withdraw(actor=request.user, notice=notice, reason=form.cleaned_data["reason"])
        except services.NoticeError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("The notice was withdrawn."))
    return redirect("notices:sent-detail", pk=pk)


@require_POST
@login_required
@official_required
def notice_remind(request, pk):
    notice = _get_sent(request, pk)
    try:
        services.notice_remind(actor=request.user, notice=notice)
    except services.NoticeError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("A reminder is being sent to everyone who has not read the notice."))
    return redirect("notices:sent-detail", pk=pk)


@login_required
def received_list(request):
    """接收列表: what reached me from above, unread first."""
    form = NoticeFilter(request.GET or None)
    qs = notices_for(request.user).select_related("sender_region").annotate(
        is_read=Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=request.user))
    )
    if form.is_valid():
        if form.cleaned_data["q"]:
            qs = qs.filter(title__icontains=form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            qs = qs.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["read"] == "unread":
            qs = qs.filter(is_read=False)
        elif form.cleaned_data["read"] == "read":
            qs = qs.filter(is_read=True)
    page = Paginator(qs.order_by("is_read", "-published_at"), 20).get_page(request.GET.get("page"))
    return render(request, "notices/received_list.html", {"page": page, "form": form})


def _received(request, pk) -> Notice:
    notice = notices_for(request.user).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return notice


@login_required
def notice_detail(request, pk):
    """A recipient opens the notice: that is the read receipt."""
    notice = _received(request, pk)
    if notice.status == NoticeStatus.PUBLISHED:
        services.notice_mark_read(notice=notice, user=request.user)
    return render(request, "notices/notice_detail.html", {
        "notice": notice, "attachments": notice.attachments.all(),
    })


def attachment(request, pk):
    """An attachment, for the sending office and the notice's recipients (anyone, on a public notice)."""
    item = get_object_or_404(NoticeAttachment.objects.select_related("notice"), pk=pk)
    notice = item.notice
    user = request.user
    public = notice.is_public and notice.status == NoticeStatus.PUBLISHED
    allowed = public or (user.is_authenticated and (
        user.is_superuser or (user.is_official and notice.sender_region_id == user.region_id)
        or notices_for(user).filter(pk=notice.pk).exists()
    ))
    if not allowed:
        if not user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        raise Http404
    return serve_private_file(item.file, download_name=item.original_name, inline=False)


# --- Public portal (no login) --------------------------------------------------------------------


def _public_qs():
    return Notice.objects.filter(is_public=True, status=NoticeStatus.PUBLISHED,
                                 category__in=PUBLIC_CATEGORIES).select_related("sender_region")


def public_list(request):
    category = request.GET.get("category", "")
    qs = _public_qs()
    if category in PUBLIC_CATEGORIES:
        qs = qs.filter(category=category)
    page = Paginator(qs.order_by("-published_at"), 20).get_page(request.GET.get("page"))
    return render(request, "notices/public_list.html", {"page": page, "category": category,
                                                         "categories": PUBLIC_CATEGORIES})


def public_detail(request, pk):
    notice = get_object_or_404(_public_qs(), pk=pk)
    return render(request, "notices/public_detail.html", {"notice": notice})


