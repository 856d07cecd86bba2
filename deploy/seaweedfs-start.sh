#!/bin/sh
# SeaweedFS for SWMS (docker-compose.yml, service `seaweedfs`): master, volume server, filer and S3 gateway in
# one process, with one S3 identity whose keys come from the environment (.env: SWMS_S3_ACCESS_KEY,
# SWMS_S3_SECRET_KEY). The identity file is written at start into a private temporary file, never into the image.
set -eu
: "${S3_ACCESS_KEY:?set SWMS_S3_ACCESS_KEY in .env}"
: "${S3_SECRET_KEY:?set SWMS_S3_SECRET_KEY in .env}"
# Letters and digits only (e.g. `openssl rand -hex 20`): they go into JSON here and into SWMS_STORAGE_URL.
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in
  *[!A-Za-z0-9]*) echo "SWMS_S3_ACCESS_KEY / SWMS_S3_SECRET_KEY: letters and digits only" >&2; exit 1 ;;
esac
dir="${SEAWEEDFS_DIR:-/data}"
config="${SEAWEEDFS_S3_CONFIG:-/tmp/swms-s3.json}"
umask 077
printf '{"identities": [{"name": "swms", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],
 "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$config"
mkdir -p "$dir"
# -volume.max=0: as many volumes as the disk holds; 1 GB volumes (the default 30 GB suits a cluster, not one
# disk). No telemetry leaves the host; the Iceberg and Lance endpoints stay closed. Arguments given to this
# script come last and win (deploy/smoke_without_docker.py moves every port).
exec weed server -dir="$dir" -ip.bind=0.0.0.0 -master.volumeSizeLimitMB=1024 -volume.max=0 \
  -master.telemetry=false -s3 -s3.port=8333 -s3.config="$config" -s3.port.iceberg=0 -s3.port.lance=0 "$@"
