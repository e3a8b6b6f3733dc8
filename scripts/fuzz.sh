#!/usr/bin/env bash
# Fuzzes the proxy's parsers (rule language, traefik.* labels, file provider YAML/TOML, sticky
# cookies, request framing, the HTTP/1.1 fast path's heads and chunked bodies), each for a bounded time, then stops by itself.
#
#   scripts/fuzz.sh                      # every target, FUZZ_SECONDS=30 each
#   FUZZ_SECONDS=300 scripts/fuzz.sh rule
#
# With a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`), runs libFuzzer
# (coverage-guided) on fuzz/fuzz_targets/*; the corpus grows in fuzz/corpus/<target>, seeds are
# in fuzz/seeds/<target>, a crash is saved in fuzz/artifacts/<target>/ and the script fails.
# Fixed crashes go in fuzz/regressions/<target>/: the unit tests replay them (and so does this).
# Without them (or with FUZZ_STABLE=1), runs the same target code in a random-mutation loop on
# the stable toolchain (`cargo test -p proxy --release fuzz_ -- --ignored`), weaker but anywhere.
# Every crash found becomes a regression unit test beside the parser.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
ALL_TARGETS=(rule labels file_config cookie framing h1)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do
  case " ${ALL_TARGETS[*]} " in *" $t "*) ;; *) echo "unknown target '$t'; targets: ${ALL_TARGETS[*]}" >&2; exit 2 ;; esac
done

have_cargo_fuzz() {
  rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo +nightly fuzz --version >/dev/null 2>&1
}

if [ "${FUZZ_STABLE:-0}" != 1 ] && have_cargo_fuzz; then
  echo "fuzz: cargo-fuzz (libFuzzer, nightly), ${FUZZ_SECONDS}s per target"
  cd fuzz
  for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t"
    # No sanitizer by default: the proxy forbids unsafe code, so ASan finds nothing more and
    # costs a full instrumented rebuild; FUZZ_SANITIZER=address to use it anyway.
    cargo +nightly fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
      -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1
  done
else
  echo "fuzz: cargo-fuzz or nightly not available (or FUZZ_STABLE=1): stable mutation loop, ${FUZZ_SECONDS}s per target"
  filters=()
  for t in "${TARGETS[@]}"; do filters+=("fuzz::stable::fuzz_$t"); done
  for f in "${filters[@]}"; do
    FUZZ_SECONDS="$FUZZ_SECONDS" cargo test -p proxy --release --lib "$f" -- --ignored --exact --nocapture
  done
fi
echo "fuzz: no crash"
