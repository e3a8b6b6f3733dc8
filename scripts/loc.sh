#!/usr/bin/env bash
# Non-test, non-blank lines of the Rust files under a directory (default: proxy/src): each file
# is counted up to its first `#[cfg(test)]` line, and a file declared as a test-only module
# (`#[cfg(test)]` on the line before its `mod name;`) counts zero.
#
#   bash scripts/loc.sh [DIR] [--files]
#
# --files also lists each file's count, largest first (the style guide caps a file at 800).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=proxy/src
FILES=0
for a in "$@"; do
  case "$a" in
    --files) FILES=1 ;;
    *) DIR=$a ;;
  esac
done
count() { # file
  awk '/^[[:space:]]*#!?\[cfg\(test\)\]/ { exit } NF { n++ } END { print n + 0 }' "$1"
}
# Files whose `mod` line follows a `#[cfg(test)]` line: their path without `.rs`.
test_only() {
  find "$DIR" -name '*.rs' -print0 | xargs -0 awk '
    /^[[:space:]]*#\[cfg\(test\)\][[:space:]]*$/ { pending = 1; next }
    pending && match($0, /^[[:space:]]*(pub(\([a-z]+\))? )?mod [a-z_0-9]+;/) {
      name = $0; sub(/^.*mod /, "", name); sub(/;.*$/, "", name)
      dir = FILENAME; sub(/\/[^\/]*$/, "", dir)
      base = FILENAME; sub(/^.*\//, "", base); sub(/\.rs$/, "", base)
      if (base != "mod" && base != "lib" && base != "main") dir = dir "/" base
      print dir "/" name
    }
    { pending = 0 }'
}
TEST_ONLY=$(test_only)
total=0
list=""
while IFS= read -r f; do
  if grep -qxF "${f%.rs}" <<<"$TEST_ONLY" || grep -qxF "${f%/mod.rs}" <<<"$TEST_ONLY"; then
    n=0
  else
    n=$(count "$f")
  fi
  total=$((total + n))
  list+="$n $f"$'\n'
done < <(find "$DIR" -name '*.rs' | sort)
if [ "$FILES" = 1 ]; then printf '%s' "$list" | sort -rn; fi
echo "$total non-test, non-blank lines in $DIR"
