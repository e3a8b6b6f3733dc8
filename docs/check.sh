#!/usr/bin/env bash
# Builds the book and fails if anything is wrong with it:
#   - any WARN or ERROR line from mdbook (a missing {{#include}} file is only logged by mdbook,
#     which still exits 0, so we read its output);
#   - any relative link, image, script or stylesheet in the built HTML that points to a file
#     that does not exist, or to a #fragment that is not an id in the target page;
#   - any {{#include file:anchor}} whose file or anchor is missing, or left unexpanded;
#   - any command file (docs/src/commands/*.sh) that bash cannot parse;
#   - any SVG under docs/src that is not well-formed XML;
#   - any source path the book names (`proxy/src/...rs`, `tests/src/...`) that does not exist, and
#     any "`name` in `path.rs`" whose file defines no `name` (the code tour must follow the code).
# Links to other sites (http://, https://) are not fetched: the check runs offline.
#
#   bash docs/check.sh            # from anywhere in the repository
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mdbook >/dev/null 2>&1; then
  echo "docs/check.sh: mdbook is not installed: run 'bash scripts/setup.sh' or 'cargo install --locked mdbook'" >&2
  exit 1
fi

# The command files must at least parse; docs/check-commands.sh runs them against a stack.
for f in docs/src/commands/*.sh docs/check-commands.sh; do
  bash -n "$f" || { echo "docs/check.sh: $f does not parse" >&2; exit 1; }
done

# A browser shows nothing for an SVG that is not well-formed XML, and mdbook does not look.
python3 - docs/src <<'PY'
import glob, sys, xml.etree.ElementTree as ET
bad = []
for f in sorted(glob.glob(sys.argv[1] + "/**/*.svg", recursive=True)):
    try:
        ET.parse(f)
    except ET.ParseError as e:
        bad.append(f"{f}: {e}")
if bad:
    print("docs/check.sh: SVG files that are not well-formed:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
PY

# mdbook includes nothing, silently, for an anchor that does not exist: check them first.
python3 - docs/src <<'PY'
import os, re, sys
src = sys.argv[1]
errors = []
for dirpath, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".md"):
            continue
        md = os.path.join(dirpath, f)
        for n, line in enumerate(open(md, encoding="utf-8"), 1):
            for target in re.findall(r"\{\{#include\s+([^}\s]+)\s*\}\}", line):
                path, _, anchor = target.partition(":")
                full = os.path.normpath(os.path.join(dirpath, path))
                where = f"{os.path.relpath(md, src)}:{n}"
                if not os.path.isfile(full):
                    errors.append(f"{where}: {{{{#include {target}}}}}: no file {path}")
                elif anchor and not anchor.isdigit() and not re.search(
                        r"ANCHOR:\s*" + re.escape(anchor) + r"\b", open(full, encoding="utf-8").read()):
                    errors.append(f"{where}: {{{{#include {target}}}}}: no anchor '{anchor}' in {path}")
if errors:
    print("docs/check.sh: broken includes:", file=sys.stderr)
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
PY

# The book points students at the code by path and function name; a refactor that moves either
# must update the book.
python3 - docs/src <<'PY'
import os, re, sys
src = sys.argv[1]
PATH = r"((?:proxy|tests|static-server|jokes-api|common|bench|testkit)/[\w/.-]+\.rs)"
errors = []
for dirpath, _, files in os.walk(src):
    for f in files:
        # performance-log.md is a dated log: its paths are the code as it was then.
        if not f.endswith(".md") or f == "performance-log.md":
            continue
        md = os.path.join(dirpath, f)
        text = open(md, encoding="utf-8").read()
        where = os.path.relpath(md, src)
        for path in set(re.findall(r"`" + PATH + r"`", text)):
            if not os.path.isfile(path):
                errors.append(f"{where}: `{path}` does not exist")
        for name, path in re.findall(r"`([\w:]+)`(?: \([^)]*\))? in `" + PATH + r"`", text):
            if not os.path.isfile(path):
                continue
            last = name.split("::")[-1]
            code = open(path, encoding="utf-8").read()
            if not re.search(r"\b(fn|struct|enum|trait|type|const|static|mod)\s+" + re.escape(last) + r"\b", code):
                errors.append(f"{where}: `{name}` in `{path}`: the file defines no `{last}`")
if errors:
    print("docs/check.sh: the book names code that is not there:", file=sys.stderr)
    for e in sorted(errors):
        print("  " + e, file=sys.stderr)
    sys.exit(1)
PY

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
mdbook build docs >"$log" 2>&1 || status=$?
cat "$log"
if [ "$status" -ne 0 ]; then
  echo "docs/check.sh: mdbook build failed (exit $status)" >&2
  exit 1
fi
if grep -Eq '(^|[[:space:]])(WARN|ERROR)([[:space:]]|$)' "$log"; then
  echo "docs/check.sh: mdbook printed warnings or errors (above); fix them" >&2
  exit 1
fi

python3 - docs/book <<'PY'
"""Checks every relative link and resource in the built book."""
import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

root = sys.argv[1]
# Pages mdbook generates with site-absolute links (the 404 page is served from any depth).
SKIP_PAGES = {"404.html"}
ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src",
         "source": "src", "object": "data"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.refs = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = ATTRS.get(tag)
        if attr and attrs.get(attr):
            self.refs.append((tag, attrs[attr], self.getpos()[0]))

    def handle_data(self, data):
        self.text.append(data)


pages = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        if f.endswith(".html"):
            path = os.path.normpath(os.path.join(dirpath, f))
            p = Page()
            with open(path, encoding="utf-8") as fh:
                p.feed(fh.read())
            pages[path] = p

errors = []
for path, page in sorted(pages.items()):
    rel_page = os.path.relpath(path, root)
    if rel_page in SKIP_PAGES:
        continue
    if "{{#include" in "".join(page.text):
        errors.append(f"{rel_page}: an {{{{#include}}}} was not expanded")
    for tag, ref, line in page.refs:
        url = urlsplit(ref)
        if url.scheme or ref.startswith("//"):
            continue  # another site, or mailto: / javascript:
        target = path
        if url.path:
            if url.path.startswith("/"):
                errors.append(f"{rel_page}:{line}: <{tag}> {ref!r} is site-absolute; it breaks offline, use a relative link")
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(url.path)))
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            if not os.path.exists(target):
                errors.append(f"{rel_page}:{line}: <{tag}> {ref!r} points to a missing file")
                continue
        if url.fragment and target.endswith(".html"):
            ids = pages[target].ids if target in pages else set()
            if unquote(url.fragment) not in ids:
                errors.append(f"{rel_page}:{line}: <{tag}> {ref!r}: no id {url.fragment!r} in {os.path.relpath(target, root)}")

if errors:
    print("docs/check.sh: broken links in the built book:", file=sys.stderr)
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
print(f"docs/check.sh: {len(pages)} pages, every relative link and image resolves")
PY
