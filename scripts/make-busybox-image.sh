#!/usr/bin/env bash
# Builds a one-layer busybox OCI image from Debian's busybox-static, for tests
# and demos that must not reach a registry:
#   OUTDIR/busybox-layout/   OCI image layout (oci-layout, index.json, blobs/sha256/*)
#   OUTDIR/busybox.oci.tar   the same layout as a tar (`ctr images import`, `skopeo copy oci-archive:`)
# Image name docker.io/library/busybox:latest, in both io.containerd.image.name
# (what ctr 1.6 uses as-is) and org.opencontainers.image.ref.name.
# Reproducible: fixed mtimes, sorted entries, numeric root ownership, gzip -n.
# Idempotent and fast: an unchanged busybox binary and script reuse the output.
# Needs: bash, coreutils, GNU tar, gzip. BUSYBOX=/path overrides /bin/busybox.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[[ $# -eq 1 && -n $1 ]] || usage

OUTDIR=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
IMAGE_NAME=docker.io/library/busybox:latest
EPOCH=1704067200 # 2024-01-01T00:00:00Z, every mtime in the image
CREATED=2024-01-01T00:00:00Z
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

[[ -x $BUSYBOX ]] || { echo "$0: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
STAMP_FILE=$OUTDIR/.busybox-image.stamp
stamp=$( { sha256sum <"$BUSYBOX"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$stamp" && -f $OUTDIR/busybox.oci.tar && -f $OUTDIR/busybox-layout/index.json ]]; then
  echo "$OUTDIR/busybox.oci.tar is up to date"
  exit 0
fi

WORK=$(mktemp -d "$OUTDIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Deterministic archive options shared by the layer and the layout tar.
TAR_OPTS=(--sort=name --format=gnu --owner=0 --group=0 --numeric-owner "--mtime=@$EPOCH")

# --- root filesystem ------------------------------------------------------
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,dev,etc,proc,root,sys,tmp}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
chmod 0755 "$ROOTFS"/{bin,dev,etc,proc,sys} "$ROOTFS/bin/busybox"
chmod 0700 "$ROOTFS/root"
chmod 1777 "$ROOTFS/tmp"
while read -r applet; do
  [[ -n $applet && $applet != busybox && $applet != */* ]] || continue
  ln -s busybox "$ROOTFS/bin/$applet"
done < <("$BUSYBOX" --list | LC_ALL=C sort -u)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$ROOTFS/etc/group"
: >"$ROOTFS/etc/hostname"
chmod 0644 "$ROOTFS"/etc/{passwd,group,hostname}

# --- blobs -------------------------------------------------------------------
LAYOUT=$WORK/busybox-layout
BLOBS=$LAYOUT/blobs/sha256
mkdir -p "$BLOBS"

# add_blob FILE -> prints "<hex> <size>" and moves FILE into blobs/sha256/<hex>
add_blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$BLOBS/$hex"
  echo "$hex $size"
}

LC_ALL=C tar "${TAR_OPTS[@]}" -C "$ROOTFS" -cf "$WORK/layer.tar" bin dev etc proc root sys tmp
diff_id=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$WORK/layer.tar"
read -r layer_hex layer_size < <(add_blob "$WORK/layer.tar.gz")

printf '{"created":"%s","architecture":"amd64","os":"linux","config":{"Env":["PATH=%s"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"scripts/make-busybox-image.sh"}]}' \
  "$CREATED" "$PATH_ENV" "$diff_id" "$CREATED" >"$WORK/config.json"
read -r config_hex config_size < <(add_blob "$WORK/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config_hex" "$config_size" "$layer_hex" "$layer_size" >"$WORK/manifest.json"
read -r manifest_hex manifest_size < <(add_blob "$WORK/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_hex" "$manifest_size" "$IMAGE_NAME" "$IMAGE_NAME" >"$LAYOUT/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
chmod 0644 "$LAYOUT/index.json" "$LAYOUT/oci-layout" "$BLOBS"/*
chmod 0755 "$LAYOUT" "$LAYOUT/blobs" "$BLOBS"

# blobs/ sorts before index.json and oci-layout, so an importer streams blobs first.
LC_ALL=C tar "${TAR_OPTS[@]}" -C "$LAYOUT" -cf "$WORK/busybox.oci.tar" blobs index.json oci-layout

# --- publish -----------------------------------------------------------------
rm -rf "$OUTDIR/busybox-layout"
mv "$LAYOUT" "$OUTDIR/busybox-layout"
mv "$WORK/busybox.oci.tar" "$OUTDIR/busybox.oci.tar"
echo "$stamp" >"$STAMP_FILE"
echo "wrote $OUTDIR/busybox.oci.tar (manifest sha256:$manifest_hex, layer diff_id sha256:$diff_id)"
