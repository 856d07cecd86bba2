"""PAdES signatures on the documents the system issues (SECURITY.md P3): certificate PDFs are signed with
pyHanko using the key and certificate named by SWMS_SIGNING_KEY_FILE / SWMS_SIGNING_CERT_FILE (PEM; the key
may be encrypted with SWMS_SIGNING_KEY_PASSPHRASE). Production settings refuse to start without them.

Without them (the demo, development, tests) a self-signed key pair is generated once under
var/signing/ (`manage.py make_signing_key`, also done on first use): good for showing and testing the
mechanism, not a trust anchor for anyone outside.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from django.conf import settings

DEV_DIR_NAME = "signing"
DEV_KEY = "dev-signing-key.pem"
DEV_CERT = "dev-signing-cert.pem"
FIELD_NAME = "SWMSSignature"


def dev_dir() -> Path:
    return Path(settings.VAR_DIR) / DEV_DIR_NAME


def key_files() -> tuple[Path, Path, bytes | None]:
    """(key file, certificate file, passphrase): the configured ones, or the self-signed demo pair."""
    key, cert = settings.SWMS_SIGNING_KEY_FILE, settings.SWMS_SIGNING_CERT_FILE
    passphrase = settings.SWMS_SIGNING_KEY_PASSPHRASE.encode() or None
    if key and cert:
        return Path(key), Path(cert), passphrase
    folder = make_dev_key()
    return folder / DEV_KEY, folder / DEV_CERT, None


def make_dev_key(folder: Path | None = None) -> Path:
    """Generate the self-signed demo pair in `folder` (default var/signing/) unless it is there. Written to a
    temporary folder and renamed into place, so processes starting together never see half a pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = folder or dev_dir()
    if (folder / DEV_KEY).exists() and (folder / DEV_CERT).exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SWMS demo"),
        x509.NameAttribute(NameOID.COMMON_NAME, "SWMS demo document signing (self-signed, not for production)"),
    ])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    staging = Path(tempfile.mkdtemp(prefix=".signing-", dir=folder.parent))
    (staging / DEV_KEY).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(staging / DEV_KEY, 0o600)
    (staging / DEV_CERT).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    try:
        os.rename(staging, folder)
    except OSError:  # another process made it first: theirs stands
        for child in staging.iterdir():
            child.unlink()
        staging.rmdir()
    return folder


@cache
def _signer(key: str, cert: str, passphrase: bytes | None):
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(key, cert, key_passphrase=passphrase)
    if signer is None:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"Cannot load the signing key {key} with the certificate {cert}.")
    return signer


def signer():
    key, cert, passphrase = key_files()
    return _signer(str(key), str(cert), passphrase)


@cache
def _trust_root(cert: str):
    from pyhanko.keys import load_cert_from_pemder

    return load_cert_from_pemder(cert)


def signing_certificate():
    """The certificate the system signs with (the trust root when validating its own documents)."""
    return _trust_root(str(key_files()[1]))


def _sync(function, *args, **kwargs):
    """Call one of pyHanko's synchronous entry points, which run their own event loop (`asyncio.run`): in a
    helper thread when this thread already runs a loop (an ASGI server, a test process driving a browser),
    where `asyncio.run` would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sign_pdf(pdf: bytes, *, reason: str = "") -> bytes:
    """The PDF with a PAdES (B-B) signature appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES, reason=reason or None,
    )
    # A fixed reservation for the CMS blob spares pyHanko a trial signature to size it.
    return _sync(signers.sign_pdf, writer, meta, signer=signer(), bytes_reserved=8192).getvalue()


@dataclass
class SignatureCheck:
    """What a PDF's embedded signatures say. `signed`: it carries one; `intact`: the signed bytes are unchanged
    and the signature is mathematically valid; `trusted`: made with this system's signing certificate;
    `covers_whole_file`: nothing was appended after signing."""

    signed: bool = False
    intact: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    signer: str = ""

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and self.covers_whole_file


def check_signature(pdf: bytes) -> SignatureCheck:
    """Validate the last signature of `pdf` against this system's signing certificate as the only trust root.
    A file pyHanko cannot read as a PDF raises ValueError."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(str(error)) from error
    if not signatures:
        return SignatureCheck()
    embedded = signatures[-1]
    context = ValidationContext(trust_roots=[signing_certificate()], allow_fetching=False)
    try:
        status = _sync(validate_pdf_signature, embedded, context)
    except Exception:  # a malformed signature dictionary: signed, but nothing holds
        return SignatureCheck(signed=True)
    return SignatureCheck(
        signed=True,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=status.signing_cert.subject.human_friendly if status.signing_cert is not None else "",
    )
