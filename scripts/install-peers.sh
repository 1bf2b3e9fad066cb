#!/usr/bin/env bash
# Install the peer tools we benchmark against (BENCHMARKS.md), idempotently.
#
#   scripts/install-peers.sh [--semgrep] [--no-apt] [PEERS_DIR]
#
#   PEERS_DIR  default: ${ANANKE_CACHE:-$HOME/.cache/ananke}/peers
#   --semgrep  also make a Python venv with semgrep in PEERS_DIR/semgrep-venv
#              (big: a few hundred MB; off by default)
#   --no-apt   do not touch apt (use whatever ctags/rg are on PATH)
#
# Installs:
#   universal-ctags, ripgrep            Debian packages (apt-get; needs root)
#   @ast-grep/cli                       npm, in PEERS_DIR (PEERS_DIR/node_modules/.bin/ast-grep)
#   semgrep (with --semgrep)            pip venv, PEERS_DIR/semgrep-venv/bin/semgrep
# Versions can be pinned with AST_GREP_VERSION (default 0.51.1, the version of the
# BENCHMARKS.md figures) and SEMGREP_VERSION (default: latest).
# Writes PEERS_DIR/env.sh, which scripts/bench-peers.sh reads, and prints the versions.
set -euo pipefail

die() { echo "install-peers: error: $*" >&2; exit 1; }
log() { echo "install-peers: $*" >&2; }

semgrep=0
use_apt=1
peers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --semgrep) semgrep=1; shift ;;
    --no-apt) use_apt=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$peers" ] || die "more than one PEERS_DIR given"; peers="$1"; shift ;;
  esac
done
peers="${peers:-${ANANKE_CACHE:-$HOME/.cache/ananke}/peers}"
AST_GREP_VERSION="${AST_GREP_VERSION:-0.51.1}"
SEMGREP_VERSION="${SEMGREP_VERSION:-}"
mkdir -p "$peers"
peers="$(cd "$peers" && pwd)"

# ---------------------------------------------------------------- apt: ctags, ripgrep
apt_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if [ "$use_apt" = 1 ]; then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install universal-ctags and ripgrep yourself and pass --no-apt"
  missing=""
  for p in universal-ctags ripgrep; do
    apt_installed "$p" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else
      command -v sudo >/dev/null 2>&1 || die "need root to apt-get install${missing} (or pass --no-apt)"
      SUDO="sudo"
    fi
    log "apt-get install${missing} ..."
    # shellcheck disable=SC2086
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
      log "apt-get install failed; running apt-get update and trying again ..."
      $SUDO apt-get update -qq || die "apt-get update failed"
      # shellcheck disable=SC2086
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        die "apt-get install${missing} failed"
    fi
  else
    log "universal-ctags and ripgrep already installed"
  fi
fi
CTAGS="$(command -v ctags-universal || command -v ctags || true)"
RG="$(command -v rg || true)"
[ -n "$CTAGS" ] || die "no ctags on PATH after install"
[ -n "$RG" ] || die "no rg on PATH after install"
"$CTAGS" --version 2>/dev/null | grep -q 'Universal Ctags' || die "$CTAGS is not Universal Ctags"

# ---------------------------------------------------------------- npm: ast-grep
command -v npm >/dev/null 2>&1 || die "'npm' not found: install Node.js and npm"
AST_GREP="$peers/node_modules/.bin/ast-grep"
have_ag=""
if [ -x "$AST_GREP" ]; then
  have_ag="$("$AST_GREP" --version 2>/dev/null | awk '{print $2}')" || have_ag=""
fi
if [ "$have_ag" = "$AST_GREP_VERSION" ] || { [ -n "$have_ag" ] && [ "$AST_GREP_VERSION" = latest ]; }; then
  log "ast-grep $have_ag already installed in $peers"
else
  log "npm install --prefix $peers @ast-grep/cli@$AST_GREP_VERSION ..."
  [ -f "$peers/package.json" ] || echo '{ "name": "ananke-peers", "private": true }' >"$peers/package.json"
  npm install --prefix "$peers" --no-audit --no-fund --silent "@ast-grep/cli@$AST_GREP_VERSION" ||
    die "npm install @ast-grep/cli failed (is the npm registry reachable?)"
  "$AST_GREP" --version >/dev/null 2>&1 ||
    die "$AST_GREP does not run (the platform package @ast-grep/cli-linux-x64-gnu missing?)"
fi

# ---------------------------------------------------------------- pip venv: semgrep
SEMGREP=""
venv="$peers/semgrep-venv"
if [ -x "$venv/bin/semgrep" ]; then SEMGREP="$venv/bin/semgrep"; fi
if [ "$semgrep" = 1 ]; then
  if [ -n "$SEMGREP" ] && { [ -z "$SEMGREP_VERSION" ] ||
       "$venv/bin/python" -m pip show semgrep 2>/dev/null | grep -qx "Version: $SEMGREP_VERSION"; }; then
    log "semgrep already installed in $venv"
  else
    command -v python3 >/dev/null 2>&1 || die "'python3' not found"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    log "pip install semgrep${SEMGREP_VERSION:+==$SEMGREP_VERSION} into $venv (large) ..."
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "semgrep${SEMGREP_VERSION:+==$SEMGREP_VERSION}" ||
      die "pip install semgrep failed"
    SEMGREP="$venv/bin/semgrep"
  fi
fi

# ---------------------------------------------------------------- env file + versions
tmp="$(mktemp "$peers/.env.sh.XXXXXX")"
{
  echo "# written by scripts/install-peers.sh; read by scripts/bench-peers.sh"
  printf 'CTAGS=%q\n' "$CTAGS"
  printf 'RG=%q\n' "$RG"
  printf 'AST_GREP=%q\n' "$AST_GREP"
  printf 'SEMGREP=%q\n' "$SEMGREP"
} >"$tmp"
mv -f "$tmp" "$peers/env.sh"

echo "ctags:    $CTAGS ($("$CTAGS" --version | head -n1))"
echo "rg:       $RG ($("$RG" --version | head -n1))"
echo "ast-grep: $AST_GREP ($("$AST_GREP" --version))"
if [ -n "$SEMGREP" ]; then
  echo "semgrep:  $SEMGREP ($(SEMGREP_ENABLE_VERSION_CHECK=0 "$SEMGREP" --version --disable-version-check 2>/dev/null || echo '?'))"
else
  echo "semgrep:  not installed (use --semgrep)"
fi
echo "env:      $peers/env.sh"
