"""An export job's page (progress, polled by htmx) and its download, for the requester only."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from swms.models import ExportJob
from swms.uploads import serve_private_file


@login_required
def export_detail(request, pk):
    job = get_object_or_404(ExportJob, pk=pk, user=request.user)
    template = "exports/_progress.html" if request.headers.get("HX-Request") else "exports/detail.html"
    return render(request, template, {"job": job})


@login_required
def export_download(request, pk):
    job = get_object_or_404(ExportJob, pk=pk, user=request.user, status=ExportJob.Status.DONE)
    return serve_private_file(job.file, download_name=job.filename, inline=False)
