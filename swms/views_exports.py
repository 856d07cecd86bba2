"""Export jobs for their requester only: "My exports", a job's page (progress polled by htmx, expiry,
retry after a failure) and its download."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from swms.exports import export_retry, sweep_stale_exports
from swms.models import ExportJob
from swms.pagination import paginate
from swms.uploads import serve_private_file


@login_required
def export_list(request):
    sweep_stale_exports(user=request.user)
    jobs = ExportJob.objects.filter(user=request.user).defer("params", "error", "builder")
    page = paginate(request, jobs, 25)
    return render(request, "exports/list.html", {"page": page, "retention_days": settings.SWMS_EXPORT_RETENTION_DAYS})


@login_required
def export_detail(request, pk):
    # Viewing the page sweeps this job too: the owner learns of a dead runner without waiting for beat.
    sweep_stale_exports(user=request.user, pk=pk)
    job = get_object_or_404(ExportJob, pk=pk, user=request.user)
    template = "exports/_progress.html" if request.headers.get("HX-Request") else "exports/detail.html"
    return render(request, template, {"job": job})


@login_required
@require_POST
def export_retry_view(request, pk):
    get_object_or_404(ExportJob.objects.only("pk"), pk=pk, user=request.user)
    export_retry(job_id=pk, user=request.user)
    return redirect("export-detail", pk=pk)


@login_required
def export_download(request, pk):
    job = get_object_or_404(ExportJob, pk=pk, user=request.user, status=ExportJob.Status.DONE)
    if job.expires_at is not None and job.expires_at <= timezone.now():
        raise Http404  # past retention; the beat job removes the file
    return serve_private_file(job.file, download_name=job.filename, inline=False)
