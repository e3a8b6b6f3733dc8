#!/usr/bin/env bash
# Removes what the lab left on the Docker engine: the test suite's stacks (compose projects
# named labtest-*), or with a project name, that project (`scripts/docker-clean.sh servers1`).
# With --images, also the http-infra-lab/* images. Touches nothing else.
set -euo pipefail

images=false
projects=()
for arg in "$@"; do
  case "$arg" in
    --images) images=true ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) projects+=("$arg") ;;
  esac
done
if [[ ${#projects[@]} -eq 0 ]]; then
  mapfile -t projects < <(docker ps -a --filter label=com.docker.compose.project \
    --format '{{.Label "com.docker.compose.project"}}' | grep '^labtest-' | sort -u || true)
fi

for project in "${projects[@]}"; do
  [[ -z "$project" ]] && continue
  echo "docker-clean: removing project $project" >&2
  ids="$(docker ps -aq --filter "label=com.docker.compose.project=$project")"
  [[ -n "$ids" ]] && docker rm -f -v $ids >/dev/null
  nets="$(docker network ls -q --filter "label=com.docker.compose.project=$project")"
  [[ -n "$nets" ]] && docker network rm $nets >/dev/null
done

if $images; then
  for image in http-infra-lab/proxy http-infra-lab/static-server http-infra-lab/jokes-api; do
    docker image rm "$image" >/dev/null 2>&1 && echo "docker-clean: removed $image" >&2 || true
  done
fi
