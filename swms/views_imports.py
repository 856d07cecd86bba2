"""The import centre (导入中心) for operators and province officials: the kinds with their templates, an
upload, the job's page (the dry run's report, confirmation, progress, result) and the history of imports.
State changes are in swms/import_jobs.py."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from swms import import_jobs
from swms.forms import BootstrapFormMixin
from swms.imports import get_kind, kinds, template_filename, write_template
from swms.models import ImportJob
from swms.pagination import paginate
from swms.uploads import serve_private_file


def _import_centre(view):
    def wrapper(request, *args, **kwargs):
        if not import_jobs.may_import(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return login_required(wrapper)


class UploadForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File"), help_text=_("Excel (.xlsx, .xls), OpenDocument (.ods) or CSV (UTF-8 or "
                                                        "GBK), with the template's header row."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "—"), *((k.key, k.label) for k in kinds())]
        self.fields["file"].widget.attrs["accept"] = ",".join(import_jobs.ALLOWED_SUFFIXES)


@_import_centre
def import_centre(request):
    import_jobs.sweep_stale_imports()
    form = UploadForm(request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind", "")})
    if request.method == "POST" and form.is_valid():
        try:
            job = import_jobs.upload(user=request.user, kind_key=form.cleaned_data["kind"],
                                     upload=form.cleaned_data["file"])
        except import_jobs.ImportJobError as e:
            form.add_error("file", str(e))
        else:
            return redirect("import-detail", pk=job.pk)
    jobs = ImportJob.objects.visible_to(request.user).select_related("user", "scope").defer(
        "check_report", "result", "error")
    return render(request, "imports/centre.html", {
        "form": form, "kinds": kinds(), "page": paginate(request, jobs, 20),
        "labels": {k.key: k.label for k in kinds()},
    })


@_import_centre
def import_detail(request, pk):
    import_jobs.sweep_stale_imports(pk=pk)
    job = get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("user", "scope"), pk=pk)
    if job.running and (live := import_jobs.live_progress(job.pk)):
        job.done_rows, job.total = live["done"], live["total"]  # reported from inside the import's transaction
    context = {"job": job, "kind": get_kind(job.kind), "mine": job.user_id == request.user.pk,
               "to_import": import_jobs.rows_to_import(job),
               "earlier": import_jobs.earlier_import(job, request.user) if job.status == "checked" else None}
    template = "imports/_status.html" if request.headers.get("HX-Request") else "imports/detail.html"
    return render(request, template, context)


def _step(action, done_message):
    @require_POST
    @_import_centre
    def view(request, pk):
        job = get_object_or_404(ImportJob.objects.visible_to(request.user).only("pk"), pk=pk)
        if action(job_id=job.pk, user=request.user):
            messages.success(request, done_message)
        return redirect("import-detail", pk=job.pk)

    return view


import_confirm = _step(import_jobs.confirm, _("The import has started."))
import_cancel = _step(import_jobs.cancel, _("The file was not imported."))
import_retry = _step(import_jobs.retry, _("Started again."))


@_import_centre
def import_template(request, kind):
    try:
        import_kind = get_kind(kind)
    except KeyError:
        raise Http404 from None
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    write_template(import_kind, response)
    response["Content-Disposition"] = content_disposition_header(True, template_filename(import_kind))
    return response


@_import_centre
def import_errors(request, pk):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    return serve_private_file(job.error_file, download_name=import_jobs.error_file_name(job), inline=False)
