#!/usr/bin/env bash
# Build the benchmark corpora of BENCHMARKS.md into a cache dir, idempotently.
#
#   scripts/fetch-corpora.sh [--only LIST] [--force] [CACHE_DIR]
#
#   CACHE_DIR  default: ${ANANKE_CACHE:-$HOME/.cache/ananke}/corpora
#   --only     comma-separated subset of: rust,typescript,python,go  (default: all)
#   --force    rebuild the selected corpora even if their marker exists
#   --stats    only print the statistics of corpora already built
#
# Layout produced (each corpus is complete once CACHE_DIR/.<corpus>.done exists):
#   rust/vendor/<crate>/...      `cargo vendor` of a throwaway crate
#   rust-nobindings/<crate>/...  the same without windows*, linux-raw-sys*, aws-lc-sys*,
#                                web-sys*, js-sys* (hardlinked copies, `cp -al`)
#   typescript/<npm name>/...    unpacked `npm pack` tarballs (scoped: typescript/@scope/name)
#   python/<sdist dir>/...       unpacked sdists
#   go/usr/share/gocode/src/...  `dpkg-deb -x` of Debian golang-*-dev packages
#
# Every corpus is built in a temporary dir next to its destination and moved into
# place only when complete, so an interrupted run leaves nothing half-built behind.
# The corpora are third-party code: never commit them.
set -euo pipefail

ALL_CORPORA="rust typescript python go"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "fetch-corpora: error: $*" >&2; exit 1; }
log() { echo "fetch-corpora: $*" >&2; }

only=""
force=0
stats_only=0
cache=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a list, e.g. --only rust,go"; only="$2"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --force) force=1; shift ;;
    --stats) stats_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$cache" ] || die "more than one CACHE_DIR given"; cache="$1"; shift ;;
  esac
done
cache="${cache:-${ANANKE_CACHE:-$HOME/.cache/ananke}/corpora}"

selected=""
if [ -z "$only" ]; then
  selected="$ALL_CORPORA"
else
  for c in ${only//,/ }; do
    case " $ALL_CORPORA " in
      *" $c "*) selected="$selected $c" ;;
      *) die "unknown corpus '$c' (choose from: ${ALL_CORPORA// /, })" ;;
    esac
  done
fi

mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

# One run at a time per cache dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock -n 9 || { log "waiting for another fetch-corpora run on $cache ..."; flock 9; }
fi

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

# stats DIR NAME_GLOB -> "<files> files, <MB> MB"
stats() {
  find "$1" -type f -name "$2" -printf '%s\n' 2>/dev/null |
    awk '{ n++; s += $1 } END { printf "%d files, %.1f MB", n, s / 1e6 }'
}

# Scratch dirs are removed on exit, whatever happens.
SCRATCH=()
cleanup() { local d; for d in "${SCRATCH[@]+"${SCRATCH[@]}"}"; do rm -rf "$d"; done; }
trap cleanup EXIT
# scratch VAR [PARENT]: make a temp dir (in PARENT, default $TMPDIR) and store its path in VAR.
# (Not via $(...): the registration in SCRATCH must happen in this shell.)
scratch() {
  local _d
  _d="$(mktemp -d "${2:-${TMPDIR:-/tmp}}/.ananke-corpus.XXXXXX")" || die "mktemp failed in ${2:-${TMPDIR:-/tmp}}"
  SCRATCH+=("$_d")
  printf -v "$1" '%s' "$_d"
}

# install_dir TMP DEST: replace DEST by TMP (same file system, so mv is a rename).
install_dir() {
  rm -rf "$2"
  mv "$1" "$2"
}

done_marker() { echo "$cache/.$1.done"; }
# The dirs a corpus is made of: a marker without them means "build again".
corpus_dirs() {
  case "$1" in
    rust) echo "$cache/rust/vendor $cache/rust-nobindings" ;;
    *) echo "$cache/$1" ;;
  esac
}
is_done() {
  local d
  [ "$force" = 0 ] && [ -f "$(done_marker "$1")" ] || return 1
  for d in $(corpus_dirs "$1"); do
    [ -d "$d" ] || { log "$1: marker present but $d is missing: rebuilding"; return 1; }
  done
}
# mark_done CORPUS [WHAT...]: the marker holds the build time and what was fetched.
mark_done() {
  local m; m="$(done_marker "$1")"; shift
  { date -u +%Y-%m-%dT%H:%M:%SZ; [ $# -eq 0 ] || printf '%s\n' "$@"; } >"$m"
}

# ---------------------------------------------------------------- rust
RUST_BINDINGS_RE='^(windows.*|linux-raw-sys.*|aws-lc-sys.*|web-sys.*|js-sys.*)$'

build_rust() {
  need cargo "install a Rust toolchain (rustup)"
  local work tmp
  scratch work
  mkdir -p "$work/crate/src"
  cat >"$work/crate/Cargo.toml" <<'EOF'
[package]
name = "ananke-corpus-rust"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "1", features = ["full"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
syn = { version = "2", features = ["full"] }
regex = "1"
rustls = "0.23"
clap = { version = "4", features = ["derive"] }
hyper = { version = "1", features = ["full"] }
reqwest = "0.12"
rayon = "1"

[workspace]
EOF
  : >"$work/crate/src/lib.rs"
  scratch tmp "$cache"
  log "rust: cargo vendor (tokio, serde, serde_json, syn, regex, rustls, clap, hyper, reqwest, rayon) ..."
  (cd "$work/crate" && cargo vendor --quiet --manifest-path Cargo.toml "$tmp/vendor" >/dev/null) ||
    die "rust: 'cargo vendor' failed (is crates.io reachable? see the cargo output above)"
  cp "$work/crate/Cargo.toml" "$work/crate/Cargo.lock" "$tmp/"
  mkdir -p "$cache/rust"
  # Keep rust/ itself (it may hold other things); replace rust/vendor and the manifests.
  rm -rf "$cache/rust/vendor"
  mv "$tmp/vendor" "$cache/rust/vendor"
  mv "$tmp/Cargo.toml" "$tmp/Cargo.lock" "$cache/rust/"
  build_rust_nobindings
  mark_done rust "$(cd "$cache/rust/vendor" && ls)"
}

build_rust_nobindings() {
  local tmp d name skipped=0 kept=0
  scratch tmp "$cache"; tmp="$tmp/rust-nobindings"
  mkdir -p "$tmp"
  for d in "$cache/rust/vendor"/*/; do
    name="$(basename "$d")"
    if [[ "$name" =~ $RUST_BINDINGS_RE ]]; then
      skipped=$((skipped + 1))
      continue
    fi
    # Hardlinks: no extra space; fall back to a real copy across file systems.
    cp -al "$d" "$tmp/$name" 2>/dev/null || cp -a "$d" "$tmp/$name"
    kept=$((kept + 1))
  done
  log "rust-nobindings: kept $kept crates, left out $skipped binding crates"
  install_dir "$tmp" "$cache/rust-nobindings"
}

stats_rust() {
  echo "rust            $(stats "$cache/rust/vendor" '*.rs')  ($cache/rust/vendor, $(find "$cache/rust/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) crates)"
  echo "rust-nobindings $(stats "$cache/rust-nobindings" '*.rs')  ($cache/rust-nobindings, $(find "$cache/rust-nobindings" -mindepth 1 -maxdepth 1 -type d | wc -l) crates)"
}

# ---------------------------------------------------------------- typescript
TS_PACKAGES="effect zod rxjs @reduxjs/toolkit @trpc/server mobx @tanstack/query-core immer typescript@5 @types/node fp-ts @angular/core @nestjs/core"

build_typescript() {
  need npm "install Node.js and npm"
  need node "install Node.js"
  local work tmp json pairs name file
  scratch work
  scratch tmp "$cache"; tmp="$tmp/typescript"
  mkdir -p "$tmp"
  log "typescript: npm pack $TS_PACKAGES ..."
  # shellcheck disable=SC2086
  json="$(cd "$work" && npm pack --json --silent $TS_PACKAGES)" ||
    die "typescript: 'npm pack' failed (is the npm registry reachable?)"
  # name<TAB>filename per tarball
  pairs="$(printf '%s' "$json" | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      for (const p of JSON.parse(s)) console.log(p.name + "\t" + p.filename);
    });')" || die "typescript: could not read npm pack --json output"
  while IFS=$'\t' read -r name file; do
    [ -n "$name" ] || continue
    # npm names scoped tarballs scope-name-x.y.z.tgz
    [ -f "$work/$file" ] || die "typescript: npm pack reported $file but it is not in $work"
    mkdir -p "$tmp/$name"
    # The top dir of the tarball is package/ (or node/ for @types/node): strip it.
    tar -xzf "$work/$file" -C "$tmp/$name" --strip-components=1 --no-same-owner
    log "typescript: unpacked $file -> typescript/$name"
  done <<<"$pairs"
  install_dir "$tmp" "$cache/typescript"
  mark_done typescript "$(cd "$work" && ls -- *.tgz)"
}

stats_typescript() {
  echo "typescript      $(stats "$cache/typescript" '*.ts') of .ts, of which .d.ts: $(stats "$cache/typescript" '*.d.ts')  ($cache/typescript)"
}

# ---------------------------------------------------------------- python
PY_PACKAGES="django requests flask sqlalchemy sympy"

build_python() {
  need python3 "install Python 3 with pip"
  python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip does not work: install pip"
  local work tmp f
  scratch work
  scratch tmp "$cache"; tmp="$tmp/python"
  mkdir -p "$tmp"
  log "python: pip download --no-binary (sdists) --no-deps $PY_PACKAGES ..."
  # --no-binary is given the package names rather than :all: so that pip may use
  # wheels for the *build* dependencies it needs to read the sdists' metadata
  # (setuptools, flit_core, Cython for sqlalchemy ...): with :all: it would build
  # those from source too. The corpus packages themselves are sdists either way.
  # shellcheck disable=SC2086
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary "${PY_PACKAGES// /,}" -d "$work" $PY_PACKAGES ||
    die "python: 'pip download' failed (is PyPI reachable?)"
  for f in "$work"/*; do
    case "$f" in
      *.tar.gz|*.tgz) tar -xzf "$f" -C "$tmp" --no-same-owner ;;
      *.zip) python3 -m zipfile -e "$f" "$tmp" ;;
      *) die "python: unexpected download $(basename "$f") (not an sdist)" ;;
    esac
    log "python: unpacked $(basename "$f")"
  done
  install_dir "$tmp" "$cache/python"
  mark_done python "$(cd "$work" && ls)"
}

stats_python() {
  echo "python          $(stats "$cache/python" '*.py')  ($cache/python)"
}

# ---------------------------------------------------------------- go
GO_PACKAGES="golang-golang-x-tools-dev golang-github-docker-docker-dev golang-github-snapcore-snapd-dev golang-github-prometheus-client-golang-dev golang-github-gin-gonic-gin-dev golang-github-google-go-github-dev"

build_go() {
  need apt-get "this corpus needs Debian's apt"
  need dpkg-deb "this corpus needs dpkg"
  local work tmp p f missing=""
  for p in $GO_PACKAGES; do
    apt-cache show "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "go: apt does not know${missing}; running apt-get update ..."
    [ "$(id -u)" = 0 ] || die "go: 'apt-get update' needs root (run 'sudo apt-get update' first)"
    apt-get update -qq || die "go: 'apt-get update' failed"
  fi
  scratch work
  # apt-get download drops privileges to _apt where it can: let _apt write here.
  chmod 0777 "$work"
  scratch tmp "$cache"; tmp="$tmp/go"
  mkdir -p "$tmp"
  log "go: apt-get download $GO_PACKAGES ..."
  # shellcheck disable=SC2086
  (cd "$work" && apt-get download -qq $GO_PACKAGES) ||
    die "go: 'apt-get download' failed (package names still valid on this Debian release?)"
  for f in "$work"/*.deb; do
    dpkg-deb -x "$f" "$tmp"
    log "go: extracted $(basename "$f")"
  done
  install_dir "$tmp" "$cache/go"
  mark_done go "$(cd "$work" && ls -- *.deb)"
}

stats_go() {
  echo "go              $(stats "$cache/go/usr/share/gocode/src" '*.go')  ($cache/go/usr/share/gocode/src)"
}

# ---------------------------------------------------------------- main
for c in $selected; do
  if [ "$stats_only" = 1 ]; then
    :
  elif is_done "$c"; then
    log "$c: already built on $(head -n1 "$(done_marker "$c")") (marker $(done_marker "$c")); --force to rebuild"
  else
    rm -f "$(done_marker "$c")"
    "build_$c"
    log "$c: done"
  fi
done

echo "corpora in $cache:"
for c in $selected; do
  if [ -f "$(done_marker "$c")" ]; then
    "stats_$c"
  else
    echo "$c: not built"
  fi
done
