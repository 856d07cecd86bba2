"""Uploaded files: checked by content, re-encoded, stored privately, served only by permission (I3).

An upload is accepted only if Pillow recognizes it as a JPEG or PNG image by its bytes (not its name),
it is at most SWMS_UPLOAD_MAX_BYTES, and it decodes fully. It is then re-encoded, which drops EXIF
data and anything smuggled after the image (polyglots), and stored under a random server-side name
below MEDIA_ROOT, which no URL serves. Views hand files out with `serve_private_file` after checking
that the viewer may see the object the file belongs to.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}
# Refuse absurd pixel counts before decoding (decompression bombs).
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CheckedImage:
    content: ContentFile  # re-encoded bytes with a random name
    content_type: str
    width: int
    height: int
    size: int
    sha256: str


def check_image_upload(upload, *, ratio: tuple[int, int] | None = None, ratio_tolerance: float = 0.03) -> CheckedImage:
    """Validate an uploaded image by content and return its re-encoded, safely named copy.

    `ratio` = (width, height), e.g. (413, 626) for the two-inch photo (3.5 × 5.3 cm); the image must
    match it within `ratio_tolerance`.
    """
    max_bytes = settings.SWMS_UPLOAD_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise ValidationError(
            _("The file is larger than %(max)s MB; please shrink it and upload it again.")
            % {"max": f"{max_bytes / 1024 / 1024:g}"},
            code="too_large",
        )
    upload.seek(0)
    raw = upload.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValidationError(_("The file is too large."), code="too_large")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            width, height = probe.size
            if fmt not in ALLOWED_FORMATS:
                raise ValidationError(_("Please upload a JPEG or PNG image."), code="format")
            if width * height > MAX_PIXELS:
                raise ValidationError(_("The image has too many pixels."), code="pixels")
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            out = io.BytesIO()
            if fmt == "JPEG":
                image.convert("RGB").save(out, format="JPEG", quality=90)
            else:
                image.save(out, format="PNG", optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not a readable JPEG or PNG image (it is checked by its content, not its name)."),
            code="not_image",
        ) from None
    if ratio is not None:
        want = ratio[0] / ratio[1]
        got = width / height
        if abs(got - want) / want > ratio_tolerance:
            raise ValidationError(
                _("The photo must be %(w)d × %(h)d pixels or the same proportions (3.5 × 5.3 cm); this one is %(gw)d × %(gh)d.")
                % {"w": ratio[0], "h": ratio[1], "gw": width, "gh": height},
                code="ratio",
            )
    data = out.getvalue()
    if len(data) > max_bytes:
        # Re-encoding can grow a heavily compressed image; keep the limit honest.
        raise ValidationError(_("The file is too large."), code="too_large")
    ext, content_type = ALLOWED_FORMATS[fmt]
    return CheckedImage(
        content=ContentFile(data, name=f"{uuid.uuid4().hex}.{ext}"),
        content_type=content_type,
        width=width,
        height=height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def serve_private_file(field_file, *, download_name: str | None = None, inline: bool = True) -> FileResponse:
    """Stream a privately stored file; the caller has already checked permission."""
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = download_name or field_file.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, as_attachment=not inline, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Documents (summaries, notice attachments) -----------------------------------------------------

DOCUMENT_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
_OOXML = {
    "word/document.xml": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xl/workbook.xml": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@dataclass(frozen=True)
class CheckedDocument:
    content: ContentFile  # the bytes under a random name
    content_type: str
    original_name: str
    size: int
    sha256: str


def check_document_upload(upload) -> CheckedDocument:
    """Accept a PDF, a Word (.docx) or Excel (.xlsx) file, or a JPEG/PNG image, recognized by content.
    Office files must be well-formed OOXML zips without macros; legacy .doc/.xls are refused (they
    cannot be checked). Stored under a random name; the original name is kept for downloads."""
    import zipfile

    max_bytes = getattr(settings, "SWMS_DOCUMENT_MAX_BYTES", DOCUMENT_MAX_BYTES_DEFAULT)
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise ValidationError(
            _("The file is larger than %(max)s MB.") % {"max": f"{max_bytes / 1024 / 1024:g}"}, code="too_large"
        )
    upload.seek(0)
    raw = upload.read(max_bytes + 1)
    original = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:150]
    ext = content_type = None
    if raw.startswith(b"%PDF-"):
        ext, content_type = "pdf", "application/pdf"
    elif raw.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = set(archive.namelist())
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, ValueError):
            names, bad = set(), "broken"
        if bad is None and "[Content_Types].xml" in names and not any(n.endswith("vbaProject.bin") for n in names):
            for marker, kind in _OOXML.items():
                if marker in names:
                    ext, content_type = kind
    if ext is None:
        try:
            image = check_image_upload(upload)
        except ValidationError:
            raise ValidationError(
                _("Please upload a PDF, Word (.docx) or Excel (.xlsx) file, or a JPEG or PNG image."),
                code="format",
            ) from None
        return CheckedDocument(content=image.content, content_type=image.content_type, original_name=original,
                               size=image.size, sha256=image.sha256)
    return CheckedDocument(
        content=ContentFile(raw, name=f"{uuid.uuid4().hex}.{ext}"), content_type=content_type,
        original_name=original, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
    )
