"""Uploads are checked by content, re-encoded, size-capped and stored under random names (I3)."""

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from swms.uploads import check_image_upload, serve_private_file


def png_upload(width, height, name="photo.png", noise=False):
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 210, 230))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def jpeg_bytes(width=413, height=626):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_html_named_jpg_is_refused():
    upload = SimpleUploadedFile("photo.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg")
    with pytest.raises(ValidationError) as e:
        check_image_upload(upload)
    assert e.value.code == "not_image"


def test_svg_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(ValidationError):
        check_image_upload(SimpleUploadedFile("a.png", svg, content_type="image/png"))


def test_polyglot_jpeg_is_reencoded_without_the_trailing_payload():
    payload = b"<html><script>alert(1)</script></html>"
    upload = SimpleUploadedFile("a.jpg", jpeg_bytes() + payload, content_type="image/jpeg")
    checked = check_image_upload(upload)
    data = checked.content.read()
    assert payload not in data
    assert data.startswith(b"\xff\xd8") and checked.content_type == "image/jpeg"


def test_oversize_image_is_refused():
    upload = png_upload(700, 700, noise=True)  # ~1.5 MB of noise
    assert upload.size > 1024 * 1024
    with pytest.raises(ValidationError) as e:
        check_image_upload(upload)
    assert e.value.code == "too_large"


@pytest.mark.parametrize(("w", "h", "ok"), [(413, 626, True), (826, 1252, True), (500, 500, False), (626, 413, False)])
def test_photo_ratio(w, h, ok):
    upload = png_upload(w, h)
    if ok:
        assert check_image_upload(upload, ratio=(413, 626)).width == w
    else:
        with pytest.raises(ValidationError) as e:
            check_image_upload(upload, ratio=(413, 626))
        assert e.value.code == "ratio"


def test_stored_under_random_name_and_served_with_nosniff(db, settings, tmp_path):
    from registration.models import SocialWorker
    from tests.factories import SocialWorkerFactory

    settings.MEDIA_ROOT = tmp_path
    worker = SocialWorkerFactory()
    checked = check_image_upload(png_upload(413, 626, name="../../evil name.png"))
    worker.photo.save(checked.content.name, checked.content)
    worker = SocialWorker.objects.get(pk=worker.pk)
    stored = worker.photo.name
    assert "evil" not in stored and stored.startswith("profiles/photos/") and stored.endswith(".png")
    assert (tmp_path / stored).exists()
    response = serve_private_file(worker.photo)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "inline" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
