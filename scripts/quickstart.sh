#!/usr/bin/env bash
# The first command on a fresh machine: fetches the embedded model, builds Ananke, and runs the whole pipeline on
# the example project (examples/inventory, a small crate whose `Stock::take` is a `todo!()`):
#
#   1. extract the constraints the project follows            (ananke extract)
#   2. compile them for the body of `take`                    (ananke compile --explain)
#   3. fill the hole with the local model under them, checked (ananke fill, on a copy in target/quickstart)
#   4. check the filled copy like a linter                    (ananke check)
#   5. time 64 generated tokens, constrained and not, in one run (ananke generate)
#
# Installs what it needs itself and is safe to re-run. The example project itself is never modified.
#
#   scripts/quickstart.sh
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
project=examples/inventory
started=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
command -v cargo >/dev/null || { echo "quickstart: cargo not found; install the Rust toolchain (rust-toolchain.toml pins it)" >&2; exit 1; }
if ! command -v cc >/dev/null; then
  step "installing a C compiler"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gcc >/dev/null; else sudo apt-get install -y -qq gcc; fi
fi

step "fetching the embedded model (SmolLM2-135M-Instruct, ~100 MB, once)"
scripts/fetch-model.sh

step "building ananke (release)"
cargo build --release --locked -p ananke-cli
ananke="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/ananke"

out=target/quickstart
rm -rf "$out"
mkdir -p "$out"
cp -r "$project" "$out/inventory"
work="$out/inventory"

step "1. extracting the constraints of $project"
"$ananke" extract "$project" -o "$out/constraints.json"

step "2. compiling them for the body of Stock::take"
"$ananke" compile "$out/constraints.json" --target fn-body --signature take -o "$out/take.ir.json" --explain \
  | sed -n '1,/^Known symbols/p'

step "3. filling the hole in Stock::take with the local model (on a copy: $work)"
# The first run writes a Q8_0 copy of the model beside it (under a second, once).
t0=$(date +%s.%N)
fill_status=0
"$ananke" fill "$work/src/stock.rs" --max-tokens 160 --max-repairs 2 || fill_status=$?
t1=$(date +%s.%N)

step "the function as written into $work/src/stock.rs"
awk '/pub fn take/ { on = 1 } on { print } on && /^    }$/ { exit }' "$work/src/stock.rs"

step "4. checking the filled copy against the extracted constraints"
check_status=0
"$ananke" check "$work/src" --no-config --constraints "$out/constraints.json" || check_status=$?

step "5. 64 tokens of Stock::take, constrained and unconstrained, same model and prompt, one run"
prompt="Write the body of Stock::take: take units of an item out of stock, returning the units left, and fail with InventoryError::InsufficientStock without changing anything when there are not enough."
measure() { # label, extra args...
  local label=$1; shift
  local s e
  s=$(date +%s.%N)
  "$ananke" generate --from "$project" --no-config --signature take --prompt "$prompt" --max-tokens 64 \
    --max-repairs 0 --format json -o "$out/$label.json" "$@" 2>"$out/$label.log" || true
  e=$(date +%s.%N)
  python3 - "$out/$label.json" "$label" "$s" "$e" <<'EOF'
import json, sys
try:
    a = json.load(open(sys.argv[1]))["attempts"][-1]
except (OSError, ValueError, KeyError, IndexError) as e:
    sys.exit(f"  {sys.argv[2]}: no result ({e}); see {sys.argv[1][:-5]}.log")
wall = float(sys.argv[4]) - float(sys.argv[3])
print(f"  {sys.argv[2]:<13} {a['tokens']:>3} tokens ({a['forced_tokens']:>2} forced)"
      f"  {a['sampled_tokens_per_s']:6.1f} sampled tok/s ({a['decode_tokens_per_s']:6.1f} all)"
      f"  mask {a['mask_us_per_sampled_token']:6.1f} µs/sampled token  prefill {a['prompt_tokens']} tokens {a['prefill_s']:.2f} s"
      f"  step wall {wall:.2f} s")
EOF
}
measure unconstrained --unconstrained || true
measure constrained || true
python3 - "$out/unconstrained.json" "$out/constrained.json" <<'EOF' || true
import json, sys
u, c = (json.load(open(p))["attempts"][-1] for p in sys.argv[1:3])
print(f"  constrained / unconstrained tokens/s: {c['sampled_tokens_per_s'] / u['sampled_tokens_per_s']:.2f} per sampled"
      f" token, {c['decode_tokens_per_s'] / u['decode_tokens_per_s']:.2f} counting the forced header tokens")
EOF

echo
echo "fill took $(python3 -c "print(f'{$t1 - $t0:.1f}')") s; the whole quickstart $((SECONDS - started)) s."
echo "Constraints: $out/constraints.json, IR: $out/take.ir.json, filled copy: $work."
if [ "$fill_status" != 0 ] || [ "$check_status" != 0 ]; then
  echo "quickstart: the generated body did not pass every check (fill exit $fill_status, check exit $check_status)" >&2
  exit 1
fi
echo "The generated Stock::take satisfies every checked constraint."
