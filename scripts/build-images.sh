#!/usr/bin/env bash
# Builds the lab's three images from static binaries compiled here, with no registry at all:
#   http-infra-lab/proxy, http-infra-lab/static-server, http-infra-lab/jokes-api
# then prints their sizes. `docker compose up` uses these tags as they are (it builds from
# source only when an image is missing), so run this before the README's compose commands on a
# machine without internet, and again after changing the code.
#
# Usage: scripts/build-images.sh [--quiet]
# Environment: CARGO_TARGET_DIR (where cargo builds), LAB_IMAGE_PREFIX (default http-infra-lab).
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true
say() { $quiet || echo "build-images: $*" >&2; }

prefix="${LAB_IMAGE_PREFIX:-http-infra-lab}"
# The host's own target: the binaries run in Linux containers on this machine.
target="$(rustc -vV | sed -n 's/^host: //p')"
case "$target" in
  *-linux-gnu) ;;
  *) echo "build-images: the host target is $target; static Linux binaries need a Linux host." \
          "Build from source instead: docker compose -f compose/compose.yaml build" >&2; exit 1 ;;
esac
target_dir="${CARGO_TARGET_DIR:-target}"

say "compiling static release binaries for $target"
# crt-static links glibc into the binary so it runs on `scratch`. With --target, build scripts
# and proc macros are compiled without the flag, as they must be.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --target "$target" -p proxy -p static-server -p jokes-api \
  $($quiet && echo --quiet)

mkdir -p dist
for image in proxy static-server jokes-api; do
  binary="$target_dir/$target/release/$image"
  if command -v file >/dev/null && ! file "$binary" | grep -q 'static'; then
    echo "build-images: $binary is dynamically linked; it would not run on scratch" >&2
    exit 1
  fi
  cp -f "$binary" "dist/$image"
done

for image in proxy static-server jokes-api; do
  say "building image $prefix/$image (target prebuilt)"
  # DOCKER_BUILDKIT is left as the user has it: the prebuilt target works with both builders.
  docker build --quiet --target prebuilt \
    --label org.opencontainers.image.source=http-infra-lab \
    -f "$image/Dockerfile" -t "$prefix/$image" . >/dev/null 2> >(grep -v -i -e deprecated -e 'legacy builder' -e buildx -e 'docs.docker.com' -e '^ *$' >&2 || true)
done

printf '%-32s %10s\n' IMAGE SIZE
for image in proxy static-server jokes-api; do
  bytes="$(docker image inspect -f '{{.Size}}' "$prefix/$image")"
  awk -v name="$prefix/$image" -v b="$bytes" 'BEGIN { printf "%-32s %7.1f MB\n", name, b / 1e6 }'
done
