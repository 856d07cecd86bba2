"""Uploaded files: checked by content, re-encoded, stored privately, served only by permission (I3).

An upload is accepted only if Pillow recognizes it as a JPEG or PNG image by its bytes (not its name),
it is at most SWMS_UPLOAD_MAX_BYTES, and it decodes fully. It is then re-encoded, which drops EXIF
data and anything smuggled after the image (polyglots), and stored under a random server-side name
in the default storage (below MEDIA_ROOT, or a private bucket: swms/storage.py), which no URL serves.
Views hand files out with `serve_private_file` after checking that the viewer may see the object the
file belongs to.
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
from django.http import FileResponse, Http404, HttpResponseRedirect
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


class _ObjectStream:
    """An object's body as FileResponse reads it: in blocks, closed (its connection returned) at the end."""

    def __init__(self, body):
        self._body = body

    def read(self, size=-1):
        return self._body.read(None if size is None or size < 0 else size)

    def close(self):
        self._body.close()


def serve_private_file(field_file, *, download_name: str | None = None, inline: bool = True):
    """Stream a privately stored file; the caller has already checked permission.

    On the local filesystem the file is streamed from disk. In an object store (swms/storage.py) it is
    streamed from the bucket as it arrives (never buffered whole), or — SWMS_STORAGE_PRESIGNED — the answer is
    a redirect to a presigned link that expires after SWMS_STORAGE_PRESIGNED_SECONDS. A missing file is a 404.
    """
    from swms import storage as object_storage

    if not field_file:
        raise Http404
    name = download_name or field_file.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    length = None
    if object_storage.is_object_storage(field_file.storage):
        if settings.SWMS_STORAGE_PRESIGNED:
            if not field_file.storage.exists(field_file.name):
                raise Http404
            link = object_storage.presigned_url(
                field_file.storage, field_file.name, filename=name, content_type=content_type, inline=inline,
                seconds=settings.SWMS_STORAGE_PRESIGNED_SECONDS)
            response = HttpResponseRedirect(link)
            response["Cache-Control"] = "private, no-store"
            response["Referrer-Policy"] = "no-referrer"
            return response
        try:
            body, length = object_storage.open_object(field_file.storage, field_file.name)
        except FileNotFoundError:
            raise Http404 from None
        handle = _ObjectStream(body)
    else:
        try:
            handle = field_file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
    response = FileResponse(handle, content_type=content_type, as_attachment=not inline, filename=name)
    if length is not None:
        response["Content-Length"] = str(length)
        response.block_size = 256 * 1024  # read from the network in larger pieces than from a disk
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Documents (summaries, notice attachments) -----------------------------------------------------
#
# Recognized by content, then parsed (issue #16: magic bytes alone let a zip bomb, a PDF with JavaScript and HTML
# after a "%PDF-" header through):
# - OOXML (.docx, .xlsx): a zip whose entries are bounded in number, total uncompressed size and compression ratio
#   (read, never trusted from the headers), with safe entry names (no absolute paths, "..", backslashes, control
#   characters, duplicates, links or encryption); [Content_Types].xml must declare the main part of the type; no
#   macros (vbaProject.bin, macro-enabled content types), ActiveX or external templates/objects; every XML part
#   must parse, with no DTD. The file is stored as sent.
# - PDF: opened with pikepdf (qpdf) without recovery, so a damaged file or HTML behind a "%PDF-" header fails;
#   encrypted files are refused; active content is refused (JavaScript, launch/submit/import actions, automatic
#   actions /AA, an /OpenAction other than going to a page, embedded files, rich media, XFA forms). What is
#   stored is the file as pikepdf saves it again, which drops anything appended after the PDF (polyglots).
# - JPEG/PNG: re-encoded by check_image_upload.

DOCUMENT_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
DOCUMENT_MAX_UNCOMPRESSED_DEFAULT = 50 * 1024 * 1024
DOCUMENT_MAX_ENTRIES_DEFAULT = 1000
DOCUMENT_MAX_RATIO_DEFAULT = 100  # per entry, once it is larger than RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024

_OOXML_MAIN = {
    # content type of the main part -> (extension, MIME type of the file)
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_OOXML_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
# External relationships that fetch or run something when the file opens (remote templates, OLE links, frames).
_RISKY_EXTERNAL = ("attachedTemplate", "oleObject", "subDocument", "frame", "package")
# PDF: keys and action types that run something, submit data or carry files.
_PDF_ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia",
                    "/RichMediaContent", "/RichMediaSettings", "/XFA"}
_PDF_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToE", "/GoToR",
                       "/Rendition", "/RichMediaExecute", "/Movie", "/Sound", "/Hide", "/SetOCGState", "/Trans",
                       "/GoTo3DView"}
_PDF_ACTIVE_TYPES = {"/EmbeddedFile", "/Filespec", "/RichMedia", "/Sound", "/Movie"}
_PDF_MAX_OBJECTS = 500_000


@dataclass(frozen=True)
class CheckedDocument:
    content: ContentFile  # the bytes under a random name
    content_type: str
    original_name: str
    size: int
    sha256: str


def _format_error():
    return ValidationError(
        _("Please upload a PDF, Word (.docx) or Excel (.xlsx) file, or a JPEG or PNG image."), code="format")


def _refused(message, code):
    return ValidationError(message, code=code)


def _safe_entry_name(name: str) -> bool:
    import posixpath

    if not name or len(name) > 255 or "\\" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return False
    parts = name.rstrip("/").split("/")
    return ".." not in parts and "." not in parts and posixpath.normpath(name.rstrip("/")) == name.rstrip("/")


def _parse_xml(data: bytes, name: str):
    """Parse one XML part; DTDs (entity expansion, external entities) are refused outright."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _refused(_("This Office file contains a document type declaration, which is not allowed."),
                       "ooxml_dtd") from None
    except ParseError:
        raise _refused(_("This Office file is damaged (%(part)s cannot be read).") % {"part": name[:80]},
                       "ooxml_broken") from None


def _check_ooxml(raw: bytes) -> tuple[str, str]:
    """The (extension, MIME type) of a safe .docx/.xlsx, or ValidationError."""
    import stat
    import zipfile

    max_entries = getattr(settings, "SWMS_DOCUMENT_MAX_ENTRIES", DOCUMENT_MAX_ENTRIES_DEFAULT)
    max_total = getattr(settings, "SWMS_DOCUMENT_MAX_UNCOMPRESSED_BYTES", DOCUMENT_MAX_UNCOMPRESSED_DEFAULT)
    max_ratio = getattr(settings, "SWMS_DOCUMENT_MAX_RATIO", DOCUMENT_MAX_RATIO_DEFAULT)
    bomb = _refused(_("This Office file unpacks to far more data than it holds (a \"zip bomb\"); it is refused."),
                    "zip_bomb")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refused(_("This Office file is damaged and cannot be opened."), "ooxml_broken") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise _refused(_("This Office file has too many parts (more than %(n)d).") % {"n": max_entries},
                           "zip_entries")
        seen = set()
        declared = 0
        for info in infos:
            name = info.filename
            folded = name.casefold()
            if not _safe_entry_name(name) or folded in seen:
                raise _refused(_("This Office file contains a part with an unsafe or repeated name."), "zip_names")
            seen.add(folded)
            if info.flag_bits & 0x1:
                raise _refused(_("Encrypted Office files cannot be checked; save it without a password."),
                               "encrypted")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refused(_("This Office file contains a part with an unsafe or repeated name."), "zip_names")
            declared += info.file_size
            if declared > max_total:
                raise bomb
            if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
                raise bomb
        lowered = {n.casefold() for n in seen}
        if any(n.endswith(("vbaproject.bin", "vbadata.xml")) or "/activex/" in f"/{n}" for n in lowered):
            raise _refused(_("Office files with macros or ActiveX controls are not accepted; save it as a plain "
                             ".docx or .xlsx."), "macros")
        if "[content_types].xml" not in lowered:
            raise _format_error()
        # Read every part, counting what really comes out (headers can lie; zipfile checks each CRC).
        total = 0
        parts = {}
        try:
            for info in infos:
                if info.is_dir():
                    continue
                with archive.open(info) as handle:
                    chunks = []
                    while True:
                        chunk = handle.read(64 * 1024)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > max_total:
                            raise bomb
                        if info.filename.endswith((".xml", ".rels")):
                            chunks.append(chunk)
                if info.filename.endswith((".xml", ".rels")):
                    parts[info.filename] = b"".join(chunks)
        except ValidationError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
            raise _refused(_("This Office file is damaged and cannot be opened."), "ooxml_broken") from None
    for name, data in parts.items():
        _parse_xml(data, name)
    types = _parse_xml(parts["[Content_Types].xml"], "[Content_Types].xml")
    declared_types = {el.get("ContentType", "") for el in types}
    if any("macroenabled" in t.lower() or "vbaproject" in t.lower() or "activex" in t.lower()
           for t in declared_types):
        raise _refused(_("Office files with macros or ActiveX controls are not accepted; save it as a plain "
                         ".docx or .xlsx."), "macros")
    kinds = {_OOXML_MAIN[t] for t in declared_types if t in _OOXML_MAIN}
    if len(kinds) != 1:
        raise _format_error()
    kind = kinds.pop()
    if _OOXML_PARTS[kind[0]] not in parts:
        raise _format_error()
    for name, data in parts.items():
        if not name.endswith(".rels"):
            continue
        for rel in _parse_xml(data, name):
            if rel.get("TargetMode", "").lower() == "external" and rel.get("Type", "").rsplit("/", 1)[-1] in \
                    _RISKY_EXTERNAL:
                raise _refused(_("This Office file loads a template or object from outside the file; it is "
                                 "refused."), "ooxml_external")
    return kind


def _pdf_active_content(pdf) -> bool:
    """True if any object of the PDF runs something, submits data or carries files."""
    import pikepdf

    def active(obj, stack, seen):
        if isinstance(obj, pikepdf.Dictionary) or isinstance(obj, pikepdf.Stream):
            keys = set(obj.keys())
            if keys & _PDF_ACTIVE_KEYS:
                return True
            kind = obj.get("/S")
            if kind is not None and str(kind) in _PDF_ACTIVE_ACTIONS:
                return True
            if str(obj.get("/Type", "")) in _PDF_ACTIVE_TYPES or str(obj.get("/Subtype", "")) in (
                    "/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"):
                return True
            opening = obj.get("/OpenAction")
            if opening is not None and not isinstance(opening, pikepdf.Array):
                # A destination (a page to show) is fine; an action only if it goes to a page in this file.
                if str(opening.get("/S", "")) != "/GoTo":
                    return True
            children = [obj[k] for k in keys if k not in ("/Parent", "/P")]
        elif isinstance(obj, pikepdf.Array):
            children = list(obj)
        else:
            return False
        for child in children:
            if isinstance(child, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
                ident = child.objgen if child.is_indirect else None
                if ident is not None:
                    if ident in seen:
                        continue
                    seen.add(ident)
                stack.append(child)
        return False

    seen: set = set()
    stack = [pdf.trailer]
    for obj in pdf.objects:
        stack.append(obj)
    steps = 0
    while stack:
        steps += 1
        if steps > _PDF_MAX_OBJECTS:
            return True  # too complex to check: refused as if active
        if active(stack.pop(), stack, seen):
            return True
    return False


def _check_pdf(raw: bytes) -> bytes:
    """The PDF saved again by pikepdf, or ValidationError."""
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(raw), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise _refused(_("Password-protected PDF files cannot be checked; save it without a password."),
                       "encrypted") from None
    except (pikepdf.PdfError, ValueError, OSError, RuntimeError):
        raise _refused(_("This file is not a readable PDF (it may be damaged, or another kind of file named .pdf)."),
                       "pdf_broken") from None
    with pdf:
        if pdf.is_encrypted:
            raise _refused(_("Password-protected PDF files cannot be checked; save it without a password."),
                           "encrypted")
        try:
            if len(pdf.pages) == 0:
                raise _refused(_("This PDF has no pages."), "pdf_broken")
            if _pdf_active_content(pdf):
                raise _refused(_("This PDF contains active content (JavaScript, actions, forms or embedded files), "
                                 "which is not accepted. Print it to a new PDF and upload that."), "pdf_active")
            out = io.BytesIO()
            pdf.save(out, fix_metadata_version=False, deterministic_id=True)
        except ValidationError:
            raise
        except (pikepdf.PdfError, ValueError, OSError, RuntimeError, KeyError, TypeError):
            raise _refused(_("This file is not a readable PDF (it may be damaged, or another kind of file named "
                             ".pdf)."), "pdf_broken") from None
    return out.getvalue()


def check_document_upload(upload) -> CheckedDocument:
    """Accept a PDF, a Word (.docx) or Excel (.xlsx) file, or a JPEG/PNG image, recognized by content and parsed
    (see above). Legacy .doc/.xls are refused (they cannot be checked). Stored under a random name; the original
    name is kept for downloads."""
    max_bytes = getattr(settings, "SWMS_DOCUMENT_MAX_BYTES", DOCUMENT_MAX_BYTES_DEFAULT)
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise ValidationError(
            _("The file is larger than %(max)s MB.") % {"max": f"{max_bytes / 1024 / 1024:g}"}, code="too_large"
        )
    upload.seek(0)
    raw = upload.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValidationError(_("The file is too large."), code="too_large")
    original = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:150]
    if raw.startswith(b"%PDF-"):
        ext, content_type = "pdf", "application/pdf"
        raw = _check_pdf(raw)
        if len(raw) > max_bytes:
            raise ValidationError(_("The file is too large."), code="too_large")
    elif raw.startswith(b"PK\x03\x04"):
        ext, content_type = _check_ooxml(raw)
    else:
        try:
            image = check_image_upload(upload)
        except ValidationError:
            raise _format_error() from None
        return CheckedDocument(content=image.content, content_type=image.content_type, original_name=original,
                               size=image.size, sha256=image.sha256)
    return CheckedDocument(
        content=ContentFile(raw, name=f"{uuid.uuid4().hex}.{ext}"), content_type=content_type,
        original_name=original, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
    )
