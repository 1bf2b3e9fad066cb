#!/usr/bin/env bash
# The first command on a fresh machine: builds Ananke and runs it on the example project in examples/inventory,
# printing the constraints it extracts and writing them to target/quickstart/constraints.json.
# Installs what it needs itself and is safe to re-run.
#
#   scripts/quickstart.sh [PROJECT_DIR]     default: examples/inventory
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
project="${1:-examples/inventory}"
[ -d "$project" ] || { echo "quickstart: no such directory: $project" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*"; }
command -v cargo >/dev/null || { echo "quickstart: cargo not found; install the Rust toolchain (rust-toolchain.toml pins it)" >&2; exit 1; }
if ! command -v cc >/dev/null; then
  step "installing a C compiler"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gcc >/dev/null; else sudo apt-get install -y -qq gcc; fi
fi

step "building ananke (release)"
cargo build --release --locked -p ananke-cli
ananke=target/release/ananke

out=target/quickstart
mkdir -p "$out"
step "extracting the constraints of $project"
"$ananke" extract "$project" -o "$out/constraints.json"
echo
echo "constraint set written to $out/constraints.json"
