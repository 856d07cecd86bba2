"""Where private files live: the local filesystem (MEDIA_ROOT) or an S3-compatible object store.

Uploads, certificates, export and import files all go through Django's default storage. Without
SWMS_STORAGE_URL that is a FileSystemStorage under MEDIA_ROOT (the demo, one host). With it, it is
django-storages' S3Storage, so that every web node and worker reads and writes the same bucket:

    SWMS_STORAGE_URL=s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET[/PREFIX][?OPTIONS]

- ACCESS_KEY and SECRET_KEY are percent-encoded (a "/" in a secret is "%2F"). Leave them out
  (s3://HOST/BUCKET) to take them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead.
- PREFIX (optional) puts every object below that folder of the bucket.
- OPTIONS: `secure=0` speaks plain HTTP (default 1: HTTPS); `region=` (default us-east-1);
  `verify=0` skips TLS certificate checks, `verify=/path/ca.pem` uses that CA bundle;
  `addressing=path|virtual` (default path, which SeaweedFS and MinIO need); `acl=private` (the canned
  ACL sent with each upload; `acl=` sends none, for stores that refuse ACLs); `connect_timeout=`
  (default 5 s), `read_timeout=` (default 60 s), `retries=` (default 3 attempts).

Files stay private: the objects carry no public ACL, `url()` is only ever a signed, expiring link, and
the views serve files through `swms.uploads.serve_private_file` after their permission check — streamed
from the store by default, or (SWMS_STORAGE_PRESIGNED=1) as a redirect to a presigned link that expires
after SWMS_STORAGE_PRESIGNED_SECONDS.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

FILESYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"
S3_BACKEND = "storages.backends.s3.S3Storage"
DEFAULT_REGION = "us-east-1"
# Reads through the storage API (S3File) are buffered in a spooled temporary file: in memory up to this size,
# then on disk (django-storages' default, 0, would keep a whole export in memory).
MAX_MEMORY_SIZE = 8 * 1024 * 1024
_OPTIONS = {"secure", "region", "verify", "addressing", "acl", "connect_timeout", "read_timeout", "retries"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"SWMS_STORAGE_URL: {name}= must be 1 or 0, not {value!r}.")


def _number(name: str, value: str, kind=float):
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"SWMS_STORAGE_URL: {name}= must be a number, not {value!r}.") from None
    if number <= 0:
        raise ImproperlyConfigured(f"SWMS_STORAGE_URL: {name}= must be positive.")
    return number


def parse_storage_url(url: str, *, presigned_seconds: int = 60) -> dict:
    """The STORAGES["default"] entry for SWMS_STORAGE_URL (see the module docstring)."""
    from botocore.config import Config

    parts = urlsplit(url.strip())
    if parts.scheme != "s3":
        raise ImproperlyConfigured("SWMS_STORAGE_URL must start with s3:// (s3://KEY:SECRET@HOST:PORT/BUCKET).")
    if not parts.hostname:
        raise ImproperlyConfigured("SWMS_STORAGE_URL has no host (s3://KEY:SECRET@HOST:PORT/BUCKET).")
    bucket, _, prefix = parts.path.lstrip("/").partition("/")
    if not bucket:
        raise ImproperlyConfigured("SWMS_STORAGE_URL has no bucket (s3://KEY:SECRET@HOST:PORT/BUCKET).")
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - _OPTIONS
    if unknown:
        raise ImproperlyConfigured(f"SWMS_STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}; "
                                   f"known: {', '.join(sorted(_OPTIONS))}.")
    secure = _flag("secure", query.get("secure", "1"))
    addressing = query.get("addressing", "path")
    if addressing not in ("path", "virtual"):
        raise ImproperlyConfigured("SWMS_STORAGE_URL: addressing= must be path or virtual.")
    verify: bool | str | None = None
    if "verify" in query:
        value = query["verify"]
        verify = _flag("verify", value) if value.lower() in _TRUE | _FALSE else value
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("SWMS_STORAGE_URL has an invalid port.") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    endpoint = f"{'https' if secure else 'http'}://{host}{f':{port}' if port else ''}"
    options = {
        "bucket_name": bucket,
        "location": prefix.strip("/"),
        "endpoint_url": endpoint,
        "region_name": query.get("region") or DEFAULT_REGION,
        "use_ssl": secure,
        "verify": verify,
        "addressing_style": addressing,
        "signature_version": "s3v4",
        "default_acl": query.get("acl", "private") or None,
        # Private: url() is a signed link that expires (never a bare public URL); names never overwrite.
        "querystring_auth": True,
        "querystring_expire": presigned_seconds,
        "file_overwrite": False,
        "max_memory_size": MAX_MEMORY_SIZE,
        "client_config": Config(
            s3={"addressing_style": addressing},
            signature_version="s3v4",
            connect_timeout=_number("connect_timeout", query.get("connect_timeout", "5")),
            read_timeout=_number("read_timeout", query.get("read_timeout", "60")),
            retries={"max_attempts": _number("retries", query.get("retries", "3"), int), "mode": "standard"},
            # botocore's default CRC checksums on every request are not understood by every S3-compatible
            # store; send and check them only where the API requires them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            tcp_keepalive=True,
        ),
    }
    if parts.username or parts.password:
        options["access_key"] = unquote(parts.username or "")
        options["secret_key"] = unquote(parts.password or "")
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def build_storages(url: str = "", *, staticfiles: str = "django.contrib.staticfiles.storage.StaticFilesStorage",
                   presigned_seconds: int = 60) -> dict:
    """The STORAGES setting: private files on SWMS_STORAGE_URL if set, else under MEDIA_ROOT."""
    default = parse_storage_url(url, presigned_seconds=presigned_seconds) if url else {"BACKEND": FILESYSTEM_BACKEND}
    return {"default": default, "staticfiles": {"BACKEND": staticfiles}}


def describe(url: str) -> str:
    """SWMS_STORAGE_URL without its keys, for logs and messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"


# --- The storage in use -------------------------------------------------------------------------------


def is_object_storage(storage=None) -> bool:
    """True if `storage` (default: the default storage) is an S3 bucket."""
    from django.core.files.storage import default_storage

    storage = default_storage if storage is None else storage
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)  # also through the lazy default_storage (LazyObject proxies __class__)


def object_key(storage, name: str) -> str:
    """The bucket key of a stored file's name (its name below the storage's location)."""
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def open_object(storage, name: str):
    """(stream, length) of an object, read straight from the bucket without buffering it first.
    FileNotFoundError if there is no such object."""
    from botocore.exceptions import ClientError

    key = object_key(storage, name)
    try:
        answer = storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound") or \
                e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise FileNotFoundError(name) from None
        raise
    return answer["Body"], answer["ContentLength"]


@functools.lru_cache(maxsize=8)
def _signing_client(endpoint, region, access_key, secret_key, token, config):
    """A client that only signs links for `endpoint` (signing is offline: it never connects there)."""
    import boto3

    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                    aws_session_token=token)
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def presigned_url(storage, name: str, *, filename: str, content_type: str, inline: bool, seconds: int) -> str:
    """A GET link to the object valid for `seconds`, answering with the file name, type and no caching.
    Signed for SWMS_STORAGE_PUBLIC_ENDPOINT if set (the address browsers reach the store at), else for
    the endpoint the application uses."""
    from urllib.parse import quote

    from django.conf import settings

    public = (getattr(settings, "SWMS_STORAGE_PUBLIC_ENDPOINT", "") or "").rstrip("/")
    client = storage.connection.meta.client
    if public and public != (storage.endpoint_url or "").rstrip("/"):
        client = _signing_client(public, storage.region_name, storage.access_key, storage.secret_key,
                                 storage.security_token, storage.client_config)
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    disposition = (f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; "
                   f"filename*=UTF-8''{quote(filename)}")
    return client.generate_presigned_url("get_object", ExpiresIn=seconds, HttpMethod="GET", Params={
        "Bucket": storage.bucket_name, "Key": object_key(storage, name),
        "ResponseContentDisposition": disposition, "ResponseContentType": content_type,
        "ResponseCacheControl": "private, no-store",
    })

