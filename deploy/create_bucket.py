"""Create the private-files bucket named by SWMS_STORAGE_URL if it is not there yet (docker-compose.yml, one-shot
service `createbucket`; safe to run again). Waits up to --wait seconds for the object store, then checks that
a write, a read and a delete go through with the application's own keys. Exit status 0 when the bucket is usable.

    python deploy/create_bucket.py [--wait 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE = "_health/createbucket-probe"


def client_and_bucket(url: str):
    import boto3

    from swms.storage import describe, parse_storage_url

    options = parse_storage_url(url)["OPTIONS"]
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name=options["region_name"],
        verify=options["verify"],
        config=options["client_config"],
        aws_access_key_id=options.get("access_key") or None,
        aws_secret_access_key=options.get("secret_key") or None,
    )
    prefix = f"{options['location']}/" if options["location"] else ""
    return client, options["bucket_name"], prefix, describe(url), options["region_name"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the object store (default 120)")
    args = ap.parse_args(argv)
    url = os.environ.get("SWMS_STORAGE_URL", "")
    if not url:
        print("SWMS_STORAGE_URL is not set: files stay on the local disk, no bucket to create.")
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    client, bucket, prefix, where, region = client_and_bucket(url)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if bucket not in names:
                kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                client.create_bucket(Bucket=bucket, **kwargs)
                print(f"created bucket {bucket} at {where}")
            else:
                print(f"bucket {bucket} exists at {where}")
            # Usable, not merely listed: the volume servers have joined and our keys may write.
            client.put_object(Bucket=bucket, Key=prefix + PROBE, Body=b"ok")
            body = client.get_object(Bucket=bucket, Key=prefix + PROBE)["Body"].read()
            client.delete_object(Bucket=bucket, Key=prefix + PROBE)
            if body != b"ok":
                raise SystemExit(f"read back {body!r} from {bucket}, not what was written")
            print(f"write, read and delete in {bucket}: ok")
            return 0
        except (BotoCoreError, ClientError) as e:
            if time.monotonic() > deadline:
                print(f"object store {where} not usable after {args.wait:.0f} s: {e}", file=sys.stderr)
                return 1
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
