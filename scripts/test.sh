#!/usr/bin/env bash
# Run every check CI runs: formatting, clippy with warnings as errors, the crate-boundary checks, and all tests
# (the embedded model is fetched first: maze's model tests and the CLI's fill test run it).
# Installs what it needs itself and is safe to re-run.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    tests only (no fmt/clippy), for the edit-test loop
#
# Environment: CARGO_BUILD_JOBS (default 2, the size of the CI machines).
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-always}"
# Snapshot tests never rewrite snapshots here: a difference is a failure to review with `cargo insta review`.
export INSTA_UPDATE=no
export CI="${CI:-true}"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

started=$SECONDS
step() { printf '\n==> [%d s] %s\n' "$((SECONDS - started))" "$*"; }

command -v cargo >/dev/null || { echo "test.sh: cargo not found; install the Rust toolchain (rust-toolchain.toml pins it)" >&2; exit 1; }
# A C compiler builds tree-sitter's grammars.
if ! command -v cc >/dev/null; then
  step "installing a C compiler"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gcc >/dev/null; else sudo apt-get install -y -qq gcc; fi
fi

if [ "$quick" = 0 ]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "cargo clippy -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  # maze's backends are features: lint them all (the CLI's defaults turn on `local` and `openai` already).
  cargo clippy -p maze --all-features --all-targets --locked -- -D warnings

  step "crate boundaries"
  # clew and braid never depend on each other; braid never compiles tree-sitter (DESIGN.md invariants).
  for pair in "braid clew" "clew braid" "braid tree-sitter" "ananke-core tree-sitter"; do
    # shellcheck disable=SC2086 # splitting the pair into two words is the point
    set -- $pair
    # The package's normal (non-dev) dependency closure, one `name vX.Y.Z` a line.
    deps=$(cargo tree -p "$1" -e normal --prefix none --format '{p}' --locked) || { echo "cargo tree -p $1 failed" >&2; exit 1; }
    if grep -q "^$2 v" <<<"$deps"; then
      echo "crate boundary violated: $1 depends on $2" >&2
      exit 1
    fi
  done
  echo "ok"
fi

step "fetching the embedded model (maze's model tests and the CLI's fill test run it)"
scripts/fetch-model.sh >/dev/null

step "fetching the Llama-3.1 and Qwen3 tokenizers (braid's checker tests run on them too)"
scripts/fetch-tokenizers.sh >/dev/null || echo "warning: tokenizers not fetched: braid's tests on them will say SKIPPED" >&2

step "cargo test"
# maze runs next with its model and HTTP tests; the CLI enables maze's `local` and `openai` features, so the
# maze library built here is the one those tests use.
cargo test --workspace --exclude maze --locked

step "cargo test -p maze --features local,openai (the local model and a loopback HTTP server)"
cargo test -p maze --features local,openai --locked

echo
echo "all checks passed in $((SECONDS - started)) s"
