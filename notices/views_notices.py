"""Notices: the office's send list and composer (Markdown with a preview), everyone's receive list, read
receipts, reminders, and the public portal of policies, notices and purchased-service projects."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import UserKind
from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.pagination import paginate
from swms.pii import mask_id_number
from swms.uploads import serve_private_file

from . import notice_services as services
from .audience import audience_users, notices_for, sent_by_office
from .forms import NoticeFilter, NoticeForm, WithdrawForm
from .models import PUBLIC_CATEGORIES, Notice, NoticeAttachment, NoticeCategory, NoticeRead, NoticeStatus


def _get_sent(request, pk) -> Notice:
    if can(request.user, OPERATE_SYSTEM):
        return get_object_or_404(Notice, pk=pk)
    return get_object_or_404(sent_by_office(request.user), pk=pk)


def _sent(request):
    """The office's notices of the send list and of its export, filtered, newest first: (form, queryset)."""
    form = NoticeFilter(request.GET or None)
    # Reads counted per listed notice by a scalar subquery, which PostgreSQL evaluates after the sort and
    # the page's LIMIT: one page of notices costs one index count each, not a GROUP BY over every receipt.
    reads = (NoticeRead.objects.filter(notice=OuterRef("pk")).order_by().values("notice")
             .annotate(n=Count("pk")).values("n"))
    qs = sent_by_office(request.user).select_related("sender").annotate(
        read_count=Coalesce(Subquery(reads, output_field=IntegerField()), 0))
    if form.is_valid():
        if form.cleaned_data["q"]:
            qs = qs.filter(title__icontains=form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            qs = qs.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
    return form, qs.order_by("-created_at", "-pk")


def _read_rate(notice) -> int | None:
    return round(notice.read_count * 100 / notice.audience_count) if notice.audience_count else None


@login_required
@official_required
def sent_list(request):
    """发送列表, with the read rate of each notice."""
    if export_requested(request):
        return export_response(request, sent_table)
    form, qs = _sent(request)
    page = paginate(request, qs, 20)
    for n in page:
        n.read_rate = _read_rate(n)
    return render(request, "notices/sent_list.html", {"page": page, "form": form})


def sent_table(request) -> Table:
    """The office's filtered send list as an export table, with each notice's read figures."""
    _form, qs = _sent(request)
    headers = [_("title"), _("category"), _("status"), _("Public"), _("sender"), _("created at"), _("published at"),
               _("withdrawn at"), _("Recipients"), _("Read"), _("Read rate")]
    categories = {value: str(label) for value, label in NoticeCategory.choices}
    statuses = {value: str(label) for value, label in NoticeStatus.choices}
    yes = _("Yes")

    def rows():
        for n in qs.iterator(chunk_size=2000):
            draft = n.status == NoticeStatus.DRAFT
            rate = _read_rate(n)
            yield [n.title, categories.get(n.category, n.category), statuses.get(n.status, n.status),
                   yes if n.is_public else "", n.sender.display_name(), _local(n.created_at), _local(n.published_at),
                   _local(n.withdrawn_at), None if draft else n.audience_count, None if draft else n.read_count,
                   None if rate is None else f"{rate}%"]

    return Table(f"notices-sent-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Sent notices"), qs.count())


def _local(moment):
    """A stored time as the local wall-clock time a spreadsheet shows (no time zone)."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


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


def _receipts(notice: Notice, show: str):
    """Who has read the notice (newest first) or, by default, who it reaches and has not read it yet: the rows of
    the sender's page and of its export; None for a draft, which reaches nobody."""
    reads = NoticeRead.objects.filter(notice=notice)
    audience = audience_users(notice) if not notice.is_draft else None
    if audience is None:
        return None
    if show == "read":
        return reads.select_related("user__region").order_by("-read_at", "-pk")
    return audience.exclude(pk__in=reads.values("user_id")).select_related("region").order_by("pk")


@login_required
@official_required
def sent_detail(request, pk):
    """The sender's view: content, audience, who has and has not read it, reminders, withdrawal."""
    notice = _get_sent(request, pk)
    if export_requested(request):
        # The builder reads only the query string (a background job re-runs it), so the notice goes there.
        return export_response(request, notice_receipts_table, notice=notice.pk)
    show = request.GET.get("show", "unread")
    rows = _receipts(notice, show)
    page = paginate(request, rows, 50) if rows is not None else None
    read_count = NoticeRead.objects.filter(notice=notice).count()
    return render(request, "notices/sent_detail.html", {
        "notice": notice, "show": show, "page": page, "read_count": read_count,
        "read_rate": round(read_count * 100 / notice.audience_count) if notice.audience_count else None,
        "withdraw_form": WithdrawForm(), "reminders": notice.reminders.order_by("-created_at")[:5],
        "regions": notice.target_regions.all(), "attachments": notice.attachments.all(),
    })


def notice_receipts_table(request) -> Table:
    """The read receipts of one sent notice (?notice=<pk>, looked up as the page does: the office's own only), for
    the tab shown (?show=read, or who has not read it); ID numbers never appear, not even as a username."""
    pk = request.GET.get("notice", "")
    if not pk.isdigit():
        raise Http404
    notice = _get_sent(request, int(pk))
    show = "read" if request.GET.get("show") == "read" else "unread"
    rows_qs = _receipts(notice, show)
    if rows_qs is None:
        rows_qs = NoticeRead.objects.none()
    headers = [_("full name"), _("account type"), _("region"), _("Status"), _("read at")]
    kinds = {value: str(label) for value, label in UserKind.choices}
    read, unread = _("Read"), _("Not read yet")

    def name(user):
        # A social worker's username is their ID number: never written into the file.
        if user.full_name:
            return user.full_name
        return mask_id_number(user.username) if user.kind == UserKind.SOCIAL_WORKER else user.username

    def rows():
        for row in rows_qs.iterator(chunk_size=2000):
            user = row.user if show == "read" else row
            yield [name(user), kinds.get(user.kind, user.kind), user.region.name if user.region_id else "",
                   read if show == "read" else unread, _local(row.read_at) if show == "read" else None]

    title = _("Read") if show == "read" else _("Not read yet")
    return Table(f"notice-{notice.pk}-{show}-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), title,
                 rows_qs.count())


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
    page = paginate(request, qs.order_by("is_read", "-published_at"), 20)
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
        can(user, OPERATE_SYSTEM) or (user.is_official and notice.sender_region_id == user.region_id)
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
    page = paginate(request, qs.order_by("-published_at"), 20)
    return render(request, "notices/public_list.html", {"page": page, "category": category,
                                                         "categories": PUBLIC_CATEGORIES})


def public_detail(request, pk):
    notice = get_object_or_404(_public_qs(), pk=pk)
    return render(request, "notices/public_detail.html", {"notice": notice})


