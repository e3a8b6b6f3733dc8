#!/usr/bin/env bash
# The report's test "sticky in real conditions": several sessions, each gets the page and all
# its assets from the one server of its cookie; sessions land on different servers.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: sessions
for session in 1 2 3 4; do
  jar=$(mktemp)
  assets=$(curl -s -c "$jar" -H 'Host: demo.res.ch' "$WEB/" |
    grep -oE '(src|href)="[^":]+\.(css|js|png|svg|jpg|ico)"' | cut -d'"' -f2)
  printf 'session %s:' "$session"
  for path in / $assets; do
    curl -s -o /dev/null -D - -b "$jar" -H 'Host: demo.res.ch' "$WEB/${path#/}" |
      tr -d '\r' | awk -v p="$path" 'tolower($1)=="x-served-by:" {printf "  %s=%s", p, $2}'
  done
  echo
  rm -f "$jar"
done
# ANCHOR_END: sessions
} >"$OUT"; show sessions

# Each session: one server for everything; across sessions: at least two servers.
servers=()
while read -r line; do
  ids=$(grep -oE '=[^ ]+' <<<"$line" | sort -u)
  [ "$(grep -c . <<<"$ids")" -eq 1 ] || fail "one session got answers from several servers: $line"
  [ "$(grep -o '=' <<<"$line" | wc -l)" -ge 3 ] || fail "the page should have at least two assets: $line"
  servers+=("$ids")
done <<<"$out"
[ "$(printf '%s\n' "${servers[@]}" | sort -u | grep -c .)" -ge 2 ] || fail "all sessions landed on the same server"
