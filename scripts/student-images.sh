#!/usr/bin/env bash
# Builds "student" images (servers the kit did not write, as a student of the lab builds them)
# from Debian packages, with no registry at all:
#   mmdebstrap --variant=apt --include=PKGS bookworm rootfs.tar, then docker import.
# Each recipe is a directory (tests/fixtures/solution-2021/README.md describes it):
#   packages      Debian packages, one a line
#   changes       Dockerfile instructions for `docker import --change` (CMD, EXPOSE, ...)
#   rootfs/       files copied over the root file system (optional)
#   customize.sh  run inside the new root file system, last (optional)
#
# Cached by content: the image is tagged with a hash of its recipe (every file in it, the Debian
# suite, and this script), so it is built only when one of them changed, and an unchanged
# recipe costs one `docker image inspect`. Prints one line per recipe on stdout:
#   <recipe name> <image>:<hash>
# and, on stderr, whether it was cached or built, and how long the build took.
#
# Usage: scripts/student-images.sh [RECIPE_DIR...]   (default: tests/fixtures/solution-2021/*)
# Environment: LAB_IMAGE_PREFIX (image names' prefix, default http-infra-lab),
#              LAB_DEBIAN_MIRROR (default: mmdebstrap's, http://deb.debian.org/debian).
# Needs mmdebstrap (bash scripts/setup.sh installs it under CI=true), and root: as another user
# it goes through `sudo -n` when that works, else mmdebstrap's unshare mode (user namespaces).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
script="$root/scripts/$(basename "$0")"
suite=bookworm
prefix="${LAB_IMAGE_PREFIX:-http-infra-lab}"
say() { echo "student-images: $*" >&2; }

if [ $# -eq 0 ]; then
  set -- "$root"/tests/fixtures/solution-2021/*/
fi

# The recipe's hash: every file's path, mode and content, the suite, and this script.
recipe_hash() {
  local dir="$1"
  {
    echo "suite $suite"
    sha256sum "$script" | cut -d' ' -f1
    (cd "$dir" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
      if [ -L "$f" ]; then
        printf '%s link %s\n' "$f" "$(readlink "$f")"
      else
        printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
      fi
    done)
  } | sha256sum | cut -c1-16
}

build() {
  local dir="$1" image="$2" hash="$3" tmp pkgs changes=() hooks=()
  if ! command -v mmdebstrap >/dev/null; then
    say "mmdebstrap is missing: apt-get install -y mmdebstrap (or CI=true bash scripts/setup.sh)"
    exit 1
  fi
  pkgs="$(grep -v -e '^#' -e '^[[:space:]]*$' "$dir/packages" | paste -sd, -)"
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] || changes+=(--change "$line")
  done <"$dir/changes"
  changes+=(--change "LABEL org.opencontainers.image.source=http-infra-lab")
  changes+=(--change "LABEL lab.recipe.hash=$hash")
  # Only what runs: the packages' files, not the apt lists, caches, docs or translations.
  hooks+=(--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*')
  if [ -d "$dir/rootfs" ]; then
    hooks=(--customize-hook="sync-in '$dir/rootfs' /" "${hooks[@]}")
  fi
  if [ -f "$dir/customize.sh" ]; then
    hooks+=(--customize-hook="copy-in '$dir/customize.sh' /tmp"
            --customize-hook='chroot "$1" sh /tmp/customize.sh'
            --customize-hook='rm -f "$1"/tmp/customize.sh')
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null; then as_root=(sudo); fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  say "building $image from Debian $suite: $pkgs"
  local started=$SECONDS
  "${as_root[@]}" mmdebstrap --quiet --variant=apt --include="$pkgs" \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    "${hooks[@]}" \
    "$suite" "$tmp/rootfs.tar" ${LAB_DEBIAN_MIRROR:+"$LAB_DEBIAN_MIRROR"} >&2
  docker import "${changes[@]}" "$tmp/rootfs.tar" "$image" >/dev/null
  local size
  size="$(docker image inspect -f '{{.Size}}' "$image")"
  say "built $image in $((SECONDS - started)) s ($((size / 1000000)) MB)"
}

for dir in "$@"; do
  dir="$(cd "$dir" && pwd)"
  name="$(basename "$dir")"
  if [ ! -f "$dir/packages" ] || [ ! -f "$dir/changes" ]; then
    say "$dir is not a recipe (it needs a packages and a changes file)"
    exit 1
  fi
  hash="$(recipe_hash "$dir")"
  image="$prefix/$name:$hash"
  if docker image inspect "$image" >/dev/null 2>&1; then
    say "$image is up to date (recipe unchanged)"
  else
    build "$dir" "$image" "$hash"
  fi
  # `latest` follows the newest build, for typing by hand (docker run --rm -p 8081:80 ...).
  docker tag "$image" "$prefix/$name:latest"
  echo "$name $image"
done
