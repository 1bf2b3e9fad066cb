#!/usr/bin/env bash
# Measure the peer tools (and optionally our own) on one corpus, in one run, and
# print a markdown table with MB per CPU-second (BENCHMARKS.md).
#
#   scripts/bench-peers.sh [options] CORPUS_DIR
#
# Options:
#   --lang L           rust (default) | typescript | python | go: which files count as
#                      input and which patterns the peers look for
#   --runs N           timed runs per tool (default 3); the run with the median CPU
#                      time (user+sys) is reported
#   --warmup N         untimed warm-up runs per tool first (default 1; 0 for slow tools)
#   --peers LIST       comma-separated subset of: ctags,ctags-all,rg,ast-grep,ast-grep-7,
#                      semgrep (default: all but semgrep, which takes minutes: list it)
#                      ctags parses only the language's files; ctags-all is plain
#                      `ctags -R --fields=+S` (every language it knows: .c, .md, ...)
#   --tool NAME=CMD    also measure CMD (run with bash -c, in the corpus dir, with
#                      $CORPUS set to the corpus dir); repeatable. E.g.
#                        --tool 'clew=target/release/clew extract "$CORPUS" -o /dev/null'
#                      A relative path in CMD is taken from the dir this script was
#                      started in, through $ORIG_PWD: --tool 'x=$ORIG_PWD/target/release/x ...'
#   --no-peers         measure only the --tool commands
#   --tsv FILE         also append one tab-separated line per tool to FILE
#   --peers-dir DIR    where install-peers.sh put things
#                      (default: ${ANANKE_CACHE:-$HOME/.cache/ananke}/peers; its env.sh
#                      names the binaries; CTAGS, RG, AST_GREP, SEMGREP in the
#                      environment override it)
#
# Columns: wall/user/sys seconds and max RSS from /usr/bin/time -f '%e %U %S %M';
# MB = 10^6 bytes of input files of the language; MB/CPU-s = MB / (user + sys).
# "out" is the number of lines the tool printed (tags, files with matches, ...), a
# sanity check that it did the work. The tools' output goes to a file, never to a
# terminal or /dev/null (some tools stop early when writing to /dev/null).
set -euo pipefail

die() { echo "bench-peers: error: $*" >&2; exit 1; }
log() { echo "bench-peers: $*" >&2; }

lang=rust
runs=3
warmup=1
peers_list="ctags,ctags-all,rg,ast-grep,ast-grep-7"
peers_dir="${ANANKE_CACHE:-$HOME/.cache/ananke}/peers"
tsv=""
corpus=""
extra_names=()
extra_cmds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lang) [ $# -ge 2 ] || die "--lang needs a value"; lang="$2"; shift 2 ;;
    --runs) [ $# -ge 2 ] || die "--runs needs a value"; runs="$2"; shift 2 ;;
    --warmup) [ $# -ge 2 ] || die "--warmup needs a value"; warmup="$2"; shift 2 ;;
    --peers) [ $# -ge 2 ] || die "--peers needs a list"; peers_list="$2"; shift 2 ;;
    --no-peers) peers_list=""; shift ;;
    --tool)
      [ $# -ge 2 ] || die "--tool needs NAME=CMD"
      case "$2" in *=*) ;; *) die "--tool wants NAME=CMD, got '$2'" ;; esac
      extra_names+=("${2%%=*}"); extra_cmds+=("${2#*=}"); shift 2 ;;
    --tsv) [ $# -ge 2 ] || die "--tsv needs a file"; tsv="$2"; shift 2 ;;
    --peers-dir) [ $# -ge 2 ] || die "--peers-dir needs a dir"; peers_dir="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$corpus" ] || die "more than one CORPUS_DIR given"; corpus="$1"; shift ;;
  esac
done
[ -n "$corpus" ] || die "usage: $0 [options] CORPUS_DIR (see --help); e.g. \$HOME/.cache/ananke/corpora/rust-nobindings"
[ -d "$corpus" ] || die "corpus dir '$corpus' does not exist (run scripts/fetch-corpora.sh first)"
case "$runs" in ''|*[!0-9]*|0) die "--runs wants a positive integer, got '$runs'" ;; esac
case "$warmup" in ''|*[!0-9]*) die "--warmup wants an integer >= 0, got '$warmup'" ;; esac
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian: apt-get install time)"

ORIG_PWD="$PWD"
export ORIG_PWD
CORPUS="$(cd "$corpus" && pwd)"
export CORPUS
if [ -n "$tsv" ]; then
  case "$tsv" in /*) ;; *) tsv="$ORIG_PWD/$tsv" ;; esac
fi

# shellcheck disable=SC2016  # ast-grep metavariables, not shell expansions
case "$lang" in
  rust)       glob='*.rs';  ctags_lang=Rust;       rg_type=rust; sg_lang=rust;       rg_pat='unwrap\(\)';      sg_pat='$X.unwrap()' ;;
  typescript) glob='*.ts';  ctags_lang=TypeScript; rg_type=ts;   sg_lang=typescript; rg_pat='console\.log\(';  sg_pat='console.log($$$A)' ;;
  python)     glob='*.py';  ctags_lang=Python;     rg_type=py;   sg_lang=python;     rg_pat='print\(';         sg_pat='print($$$A)' ;;
  # (Go: ast-grep reads a bare `fmt.Println($$$A)` pattern as a type, matching nothing.)
  go)         glob='*.go';  ctags_lang=Go;         rg_type=go;   sg_lang=go;         rg_pat='if err != nil \{'; sg_pat='if err != nil { return $$$A }' ;;
  *) die "unknown --lang '$lang' (rust, typescript, python, go)" ;;
esac

# Binaries: environment > PEERS_DIR/env.sh > PATH.
env_ctags="${CTAGS:-}"; env_rg="${RG:-}"; env_ag="${AST_GREP:-}"; env_sg="${SEMGREP:-}"
if [ -f "$peers_dir/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$peers_dir/env.sh"
fi
CTAGS="${env_ctags:-${CTAGS:-$(command -v ctags-universal || command -v ctags || true)}}"
RG="${env_rg:-${RG:-$(command -v rg || true)}}"
AST_GREP="${env_ag:-${AST_GREP:-$(command -v ast-grep || true)}}"
SEMGREP="${env_sg:-${SEMGREP:-$(command -v semgrep || true)}}"

work="$(mktemp -d "${TMPDIR:-/tmp}/ananke-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Input size: bytes of the language's files (hardlinks counted once per path, as
# tools see them).
read -r nfiles bytes < <(find "$CORPUS" -type f -name "$glob" -printf '%s\n' |
  awk '{ n++; s += $1 } END { printf "%d %d\n", n, s }')
[ "$nfiles" -gt 0 ] || die "no $glob files under $CORPUS"
mb="$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')"
log "corpus $CORPUS: $nfiles $glob files, $mb MB; $runs timed runs per tool"
load0="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
if awk -v l="${load0%% *}" 'BEGIN { exit !(l + 0 > 0.5) }'; then
  log "warning: load average is $load0: other work is running; CPU times will be inflated (compare ratios from one run)"
fi

# Seven rules for the multi-rule scan (rust only).
cat >"$work/rules7.yml" <<'EOF'
id: unwrap
language: rust
rule: { pattern: $X.unwrap() }
---
id: expect
language: rust
rule: { pattern: $X.expect($$$A) }
---
id: panic
language: rust
rule: { pattern: panic!($$$A) }
---
id: todo
language: rust
rule: { pattern: todo!($$$A) }
---
id: unsafe-block
language: rust
rule: { kind: unsafe_block }
---
id: clone
language: rust
rule: { pattern: $X.clone() }
---
id: println
language: rust
rule: { pattern: println!($$$A) }
EOF

cat >"$work/semgrep6.yml" <<'EOF'
rules:
  - { id: unwrap, languages: [rust], severity: INFO, message: m, pattern: $X.unwrap() }
  - { id: expect, languages: [rust], severity: INFO, message: m, pattern: $X.expect(...) }
  - { id: panic, languages: [rust], severity: INFO, message: m, pattern: panic!(...) }
  - { id: todo, languages: [rust], severity: INFO, message: m, pattern: todo!(...) }
  - { id: clone, languages: [rust], severity: INFO, message: m, pattern: $X.clone() }
  - { id: println, languages: [rust], severity: INFO, message: m, pattern: println!(...) }
EOF

names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }
need_bin() {
  if [ -z "$2" ] || [ ! -x "$2" ]; then
    die "$1 not found (run scripts/install-peers.sh${3:-}, or set ${4:-} to its path)"
  fi
}

for p in ${peers_list//,/ }; do
  case "$p" in
    ctags)
      need_bin ctags "$CTAGS" "" CTAGS
      add "universal-ctags \`-R --fields=+S --languages=$ctags_lang\`" \
        "\"$CTAGS\" -R --fields=+S --languages=$ctags_lang -f \"\$OUT\" \"\$CORPUS\"" ;;
    ctags-all)
      need_bin ctags "$CTAGS" "" CTAGS
      add "universal-ctags \`-R --fields=+S\` (all languages)" \
        "\"$CTAGS\" -R --fields=+S -f \"\$OUT\" \"\$CORPUS\" 2>/dev/null" ;;
    rg)
      need_bin rg "$RG" "" RG
      add "ripgrep \`-c '$rg_pat' -t $rg_type\`" \
        "\"$RG\" -c '$rg_pat' -t $rg_type \"\$CORPUS\" >\"\$OUT\" || [ \$? = 1 ]" ;;
    ast-grep)
      need_bin ast-grep "$AST_GREP" "" AST_GREP
      add "ast-grep \`run -p '$sg_pat' -l $sg_lang\`" \
        "\"$AST_GREP\" run -p '$sg_pat' -l $sg_lang \"\$CORPUS\" >\"\$OUT\"" ;;
    ast-grep-7)
      need_bin ast-grep "$AST_GREP" "" AST_GREP
      if [ "$lang" = rust ]; then
        add "ast-grep \`scan\`, 7 rules" \
          "\"$AST_GREP\" scan --inline-rules \"\$(cat '$work/rules7.yml')\" --json=stream \"\$CORPUS\" >\"\$OUT\""
      else
        log "ast-grep-7: rules are for rust only; skipped for --lang $lang"
      fi ;;
    semgrep)
      need_bin semgrep "$SEMGREP" " --semgrep" SEMGREP
      if [ "$lang" = rust ]; then
        # Without a .semgrepignore at the target's root, semgrep applies its default
        # ignore list, which skips tests/ and test/ (a third of the corpus): an empty
        # one there turns that off. It is a hidden non-source file: no other tool reads it.
        if [ ! -e "$CORPUS/.semgrepignore" ]; then
          echo "# empty: scan everything (scripts/bench-peers.sh)" >"$CORPUS/.semgrepignore" ||
            die "cannot write $CORPUS/.semgrepignore (semgrep would skip tests/ without it)"
          log "semgrep: wrote $CORPUS/.semgrepignore so that semgrep does not skip tests/"
        fi
        add "semgrep, 6 rules" \
          "SEMGREP_ENABLE_VERSION_CHECK=0 \"$SEMGREP\" scan --metrics=off --disable-version-check --quiet --jobs 2 --max-target-bytes 0 --timeout 0 --config '$work/semgrep6.yml' --emacs -o \"\$OUT\" \"\$CORPUS\""
      else
        log "semgrep: rules are for rust only; skipped for --lang $lang"
      fi ;;
    '') ;;
    *) die "unknown peer '$p' (ctags, ctags-all, rg, ast-grep, ast-grep-7, semgrep)" ;;
  esac
done
for i in "${!extra_names[@]}"; do
  add "${extra_names[$i]}" "${extra_cmds[$i]} >\"\$OUT\""
done
[ "${#names[@]}" -gt 0 ] || die "nothing to measure"

# run_once CMD TIMEFILE -> exit status of CMD; output lines in $work/out
run_once() {
  OUT="$work/out" /usr/bin/time -f '%e %U %S %M' -o "$2" bash -c "cd \"\$CORPUS\" && $1"
}

rows=()
for i in "${!names[@]}"; do
  name="${names[$i]}"; cmd="${cmds[$i]}"
  export OUT="$work/out"
  failed=0
  for r in $(seq 1 "$warmup"); do
    log "$name: warm-up $r/$warmup ..."
    run_once "$cmd" "$work/t.warm" 2>"$work/err" || { failed=1; break; }
  done
  : >"$work/times"
  for r in $(seq 1 "$runs"); do
    [ "$failed" = 0 ] || break
    log "$name: run $r/$runs ..."
    run_once "$cmd" "$work/t.$r" 2>"$work/err" || { failed=1; break; }
    # /usr/bin/time appends "Command exited with non-zero status" lines; keep the last line.
    tail -n1 "$work/t.$r" >>"$work/times"
  done
  if [ "$failed" = 1 ]; then
    log "$name: FAILED (non-zero exit; note rg and ast-grep exit 1 when nothing matched); command: $cmd"
    sed 's/^/  | /' "$work/err" | tail -n 20 >&2
    rows+=("| $name | failed | | | | | | | |")
    continue
  fi
  out_lines="$(wc -l <"$work/out" | tr -d ' ')"
  # median by CPU time (user + sys)
  read -r wall user sys rss < <(awk '{ print $2 + $3, $0 }' "$work/times" | sort -n |
    awk -v n="$runs" 'NR == int((n + 1) / 2) { print $2, $3, $4, $5 }')
  row="$(awk -v name="$name" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v mb="$mb" -v o="$out_lines" -v n="$runs" 'BEGIN {
    cpu = u + s; tput = (cpu > 0) ? mb / cpu : 0; wtput = (w > 0) ? mb / w : 0
    printf "| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | %s |", name, w, u, s, cpu, m / 1024, wtput, tput, o
  }')"
  rows+=("$row")
  log "$row"
  if [ -n "$tsv" ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CORPUS" "$mb" "$name" \
      "$wall" "$user" "$sys" "$rss" "$out_lines" "$runs" >>"$tsv"
  fi
done

echo
echo "Corpus: \`$CORPUS\` — $nfiles \`$glob\` files, $mb MB; $(nproc) CPUs; median of $runs runs by CPU time, after $warmup warm-up(s); load average at start $load0, at end $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| tool | wall s | user s | sys s | CPU s | max RSS MB | MB/wall-s | MB/CPU-s | out lines |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
