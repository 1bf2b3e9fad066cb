#!/usr/bin/env python3
"""Run the generation-quality benchmark (see README.md in this directory) on the task set of prepare.py.

For every task and every mode, in one run with the same model, seed and token budget: the task's function body is
blanked to `todo!()` in its prepared crate (in place; the original bytes are always put back, on errors and Ctrl-C
too), `ananke fill` fills it, and the filled body is measured: parse (syn, via devtools' parse-bodies), closed
(its braces close), compile (`cargo check`), test-pass (`cargo test --lib`, tasks whose crate has unit tests),
forbidden constructs, and fill's own figures (tokens, tokens/s, mask time per token, attempts).

Writes WORK/results.jsonl (one line per task x mode, as it goes) and WORK/table.md (also printed on stdout).

    benches/quality/run.py [--modes unconstrained,syntax,budget,identifiers,repair] [--limit N]
                           [--max-tokens 192] [--seed 0] [--work target/quality] [--timeout 300]
                           [--ananke PATH] [--devtools PATH] [--model GGUF] [--table-only]

Modes: unconstrained, syntax, budget, identifiers, repair (the default set), unconstrained-repair, revise and
repair-hot (for comparison: the repair loop without the layers, the older repair strategy, and repairs drawn at
temperature 0.8), and `reference` (the original body put back, no generation: checks the harness itself, every rate
should be 100%).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLANK = b"{\n        todo!()\n    }"

# The `ananke fill` flags of each mode, on top of the common ones. None: no generation.
MODES = {
    "unconstrained": ["--unconstrained", "--max-repairs", "0"],
    "syntax": ["--no-budget", "--no-identifiers", "--max-repairs", "0"],
    "budget": ["--no-identifiers", "--max-repairs", "0"],
    "identifiers": ["--max-repairs", "0"],
    "repair": ["--max-repairs", "9", "--verify", "cargo"],
    # Not a layer: the same repair loop without token-level enforcement, to tell what the loop alone gives.
    "unconstrained-repair": ["--unconstrained", "--max-repairs", "9", "--verify", "cargo"],
    # The previous repair strategy: revise one draft (notes in the prompt, resumed at the first error), greedily.
    "revise": ["--max-repairs", "9", "--verify", "cargo", "--repair", "revise"],
    # The repair loop drawing hotter candidates (temperature 0.8 instead of 0.5).
    "repair-hot": ["--max-repairs", "9", "--verify", "cargo", "--repair-temperature", "0.8"],
    "reference": None,
}
DEFAULT_MODES = "unconstrained,syntax,budget,identifiers,repair"

FORBIDDEN = {
    "unwrap": re.compile(r"\.\s*unwrap\s*\(\s*\)"),
    "expect": re.compile(r"\.\s*expect\s*\("),
    "panic": re.compile(r"\bpanic\s*!"),
    "todo": re.compile(r"\btodo\s*!"),
    "unimplemented": re.compile(r"\bunimplemented\s*!"),
    "unsafe": re.compile(r"\bunsafe\b"),
}


class Terminated(Exception):
    """SIGTERM, turned into an exception so that every file is restored on the way out."""


def on_sigterm(*_):
    raise Terminated()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Processes


def die_with_parent():
    """In the child: be killed when the harness dies, even by SIGKILL (Linux; elsewhere nothing)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run(cmd, cwd=None, env=None, timeout=300, stdin=None):
    """(exit code or None on timeout, stdout, stderr, seconds). The child gets its own process group, killed
    whole on timeout or interruption (cargo and rustc included)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=die_with_parent if sys.platform == "linux" else None)
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout)
        return proc.returncode, out, err, time.monotonic() - start
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return None, out, err, time.monotonic() - start
    except BaseException:
        kill_group(proc)
        proc.communicate()
        raise


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def capture(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ---------------------------------------------------------------------------------------------------------------
# Restoring files: every blanked file has a pristine copy under WORK/pristine until it is restored, so that even a
# run killed with SIGKILL is repaired by the next one.


class Restorer:
    def __init__(self, work: Path):
        self.dir = work / "pristine"

    def save(self, rel: str, original: bytes):
        copy = self.dir / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(original)

    def restore(self, crates: Path, rel: str):
        copy = self.dir / rel
        path = crates / rel
        path.write_bytes(copy.read_bytes())
        copy.unlink()
        for parent in copy.parents:  # empty directories of the copy
            if not parent.is_relative_to(self.dir) or any(parent.iterdir()):
                break
            parent.rmdir()
        for tmp in path.parent.glob(f".{path.name}.ananke-*.tmp"):  # left by a fill killed while writing
            tmp.unlink(missing_ok=True)

    def restore_leftovers(self, crates: Path):
        if not self.dir.is_dir():
            return
        for copy in sorted(p for p in self.dir.rglob("*") if p.is_file()):
            rel = copy.relative_to(self.dir).as_posix()
            log(f"quality: restoring {rel}, left blanked by an interrupted run")
            self.restore(crates, rel)


# ---------------------------------------------------------------------------------------------------------------
# Measures


RAW_STRING = re.compile(r'b?r(#*)"')
CHAR = re.compile(r"'(\\.[^']*|[^'\\])'")


def strip_comments_and_strings(code: str) -> str:
    """The code with comments, string, byte-string and char literals blanked (lifetimes kept)."""
    out = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if code.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif code.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (m := RAW_STRING.match(code, i)) and (i == 0 or not (code[i - 1].isalnum() or code[i - 1] == "_")):
            end = code.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"' or (c == "b" and code.startswith('b"', i)):
            i += 2 if c == "b" else 1
            while i < n and code[i] != '"':
                i += 2 if code[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and (m := CHAR.match(code, i)):
            i = m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def forbidden_in(body: str):
    code = strip_comments_and_strings(body)
    return sorted(name for name, rx in FORBIDDEN.items() if rx.search(code))


def braces_close(body: str) -> bool:
    """The body starts with `{` whose matching `}` is its last character (comments and literals aside)."""
    code = strip_comments_and_strings(body).strip()
    if not code.startswith("{"):
        return False
    depth = 0
    for i, c in enumerate(code):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
            if depth == 0:
                return i == len(code) - 1
    return False


def syntax_verdict(devtools: str, header: str, body: str):
    code, out, err, _ = run([devtools], stdin=json.dumps({"header": header, "body": body}) + "\n", timeout=60)
    try:
        return json.loads(out.splitlines()[0])
    except (IndexError, ValueError):
        return {"parse": False, "closed": False, "error": f"parse-bodies failed ({code}): {err.strip()[-300:]}"}


def first_errors(cargo_output: str, limit=3):
    """The first rustc errors of cargo's output, with the line they point at."""
    errors, lines = [], cargo_output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("error") and not line.startswith("error: could not compile"):
            where = next((l.strip() for l in lines[i + 1:i + 3] if l.strip().startswith("-->")), "")
            errors.append(f"{line} {where}".strip())
            if len(errors) == limit:
                break
    return errors


# ---------------------------------------------------------------------------------------------------------------
# `ananke fill`'s report


def pick(obj, *keys):
    for key in keys:
        if isinstance(obj, dict) and obj.get(key) is not None:
            return obj[key]
    return None


def fill_report(stdout: str, stderr: str, function: str):
    """Fill's figures: from its JSON (one object per hole; the one for this function), else from its stderr."""
    objects = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                objects.append(json.loads(line))
            except ValueError:
                pass
    if not objects and stdout.strip().startswith(("{", "[")):
        try:
            doc = json.loads(stdout)
            objects = doc if isinstance(doc, list) else doc.get("holes", [doc]) if isinstance(doc, dict) else []
        except ValueError:
            pass
    objects = [o for o in objects if isinstance(o, dict)]
    if objects:
        obj = next((o for o in objects if pick(o, "function", "name") == function), objects[0])
        attempts = pick(obj, "attempts")
        timings = obj.get("timings") if isinstance(obj.get("timings"), dict) else {}

        def first(*keys):  # 0 is a value, not a missing one
            return next((v for v in (pick(obj, *keys), pick(timings, *keys)) if v is not None), None)

        return {
            "source": "json",
            "status": pick(obj, "status"),
            "attempts": len(attempts) if isinstance(attempts, list) else attempts,
            "tokens": first("tokens", "tokens_generated", "generated_tokens"),
            "elapsed_ms": first("elapsed_ms"),
            "tokens_per_s": first("tokens_per_s", "tokens_per_second", "sampled_tokens_per_s"),
            "mask_us_per_token": first("mask_us_per_token", "mask_us_per_sampled_token", "mask_us"),
            "raw": {k: v for k, v in obj.items() if k != "body"},
            "body": obj.get("body") if isinstance(obj.get("body"), str) else None,
        }
    m = re.search(r"(\d+) attempt\(s\), (\d+) tokens in ([\d.]+) s \(last: prompt (\d+) tokens, prefill ([\d.]+) s, "
                  r"([\d.]+|NaN|inf) sampled tokens/s, mask ([\d.]+|NaN) µs per sampled token", stderr)
    if m:
        num = lambda s: float(s) if re.fullmatch(r"[\d.]+", s) else None  # noqa: E731
        return {"source": "stderr", "status": None, "attempts": int(m.group(1)), "tokens": int(m.group(2)),
                "elapsed_ms": float(m.group(3)) * 1000, "tokens_per_s": num(m.group(6)),
                "mask_us_per_token": num(m.group(7)), "raw": None, "body": None}
    return {"source": None, "status": None, "attempts": None, "tokens": None, "elapsed_ms": None,
            "tokens_per_s": None, "mask_us_per_token": None, "raw": None, "body": None}


def supported_flags(ananke: str):
    code, out, err, _ = run([ananke, "fill", "--help"], timeout=60)
    if code != 0:
        sys.exit(f"quality: `{ananke} fill --help` failed ({code}): {err.strip()[-500:]}")
    return set(re.findall(r"--[a-z][a-z0-9-]*", out))


# ---------------------------------------------------------------------------------------------------------------
# The table


def pct(k, n):
    return f"{100 * k / n:.0f}%" if n else "–"


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def mean_of(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.mean(values) if values else None


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def table(results, header_lines):
    modes = list(dict.fromkeys(r["mode"] for r in results))
    rows, stats = [], {}
    for mode in modes:
        rs = [r for r in results if r["mode"] == mode]
        n = len(rs)
        # Tasks whose unit tests reach the function (probed); results without probes: every task with tests.
        with_tests = [r for r in rs if r["has_tests"] and r.get("tests_reach", True)]
        generated = [r for r in rs if r["mode"] != "reference"]
        tokens = [r["tokens"] for r in rs if isinstance(r.get("tokens"), (int, float))]
        s = {
            "n": n,
            "errors": sum(1 for r in rs if r["outcome"] in ("error", "timeout", "unfilled", "skipped")),
            "parse": sum(1 for r in rs if r["parse"]),
            "closed": sum(1 for r in rs if r["closed"]),
            "compile": sum(1 for r in rs if r["compile"]),
            "recursion": sum(1 for r in rs if r.get("recursion")),
            "tests": len(with_tests),
            "test_pass": sum(1 for r in with_tests if r["test_pass"]),
            "forbidden": sum(1 for r in rs if r["forbidden"]),
            "tokens": statistics.mean(tokens) if tokens else None,
            "attempts": mean_of(r.get("attempts") for r in generated),
            "tps": median(r.get("tokens_per_s") for r in generated),
            "mask": median(r.get("mask_us_per_token") for r in generated),
        }
        stats[mode] = s
    base = stats.get("unconstrained")
    for mode in modes:
        s = stats[mode]
        compile_ratio = tps_ratio = "–"
        if base and mode != "unconstrained":
            if base["compile"] and base["n"] and s["n"]:
                compile_ratio = f"{(s['compile'] / s['n']) / (base['compile'] / base['n']):.2f}×"
            if base["tps"] and s["tps"] is not None:
                tps_ratio = f"{s['tps'] / base['tps']:.2f}×"
        rows.append(f"| {mode} | {s['n']} | {s['errors']} | {pct(s['parse'], s['n'])} | {pct(s['closed'], s['n'])} | "
                    f"{pct(s['compile'], s['n'])} | {s['recursion']} | {pct(s['test_pass'], s['tests'])} | "
                    f"{pct(s['forbidden'], s['n'])} | {fmt(s['tokens'])} | {fmt(s['attempts'], 2)} | {fmt(s['tps'])} | "
                    f"{fmt(s['mask'])} | "
                    f"{compile_ratio} | {tps_ratio} |")
    lines = list(header_lines) + [
        "",
        "| mode | n | failed fills | parse | closed | compile | of which recurse endlessly | test-pass | forbidden | mean tokens | mean attempts "
        "| tokens/s (median) | mask µs/token (median) | compile vs unconstrained | tokens/s vs unconstrained |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        *rows,
        "",
        "Rates are over all n tasks of the mode (a failed fill — error, timeout, file left unfilled — counts as "
        "not parsed, not closed, not compiled); test-pass is over the tasks whose unit tests reach the function "
        f"({stats[modes[0]]['tests'] if modes else 0}), a body that does not compile failing them; forbidden: "
        "`.unwrap()`, `.expect(`, `panic!`, `todo!`, `unimplemented!` or `unsafe` outside comments and strings; "
        "of which recurse endlessly: compiled bodies rustc warns never return (`unconditional_recursion`), counted "
        "as compiled. Tokens, tokens/s and mask time are ananke fill's own figures.",
    ]
    return "\n".join(lines) + "\n"


def header(args, tasks, ananke):
    commit = capture(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT) or "unknown"
    if capture(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT):
        commit += " (with uncommitted changes)"
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    model = args.model or os.environ.get("ANANKE_MODEL") or "ananke's default (SmolLM2-135M-Instruct Q4_1)"
    version = capture([ananke, "--version"]) if ananke else ""
    return [
        f"# Generation quality, {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- commit {commit}; " + (f"{version or 'ananke'} at `{ananke}`" if ananke else "no generation"),
        f"- machine: {os.cpu_count()} CPUs ({capture(['nproc']) or '?'} usable){', ' + cpu if cpu else ''}; "
        f"Linux {platform.release()}; load average {os.getloadavg()[0]:.2f} at the start",
        f"- model: {model}; seed {args.seed}; at most {args.max_tokens} tokens per attempt; timeout {args.timeout} s "
        "per fill",
        f"- tasks: {len(tasks)} ({sum(1 for t in tasks if t.get('tests'))} with unit tests) from "
        f"{len({t['crate'] for t in tasks})} crates",
    ]


# ---------------------------------------------------------------------------------------------------------------
# The run


def build(package, binary, explicit):
    if explicit:
        if not Path(explicit).is_file():
            sys.exit(f"quality: no {explicit}")
        return str(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    env = dict(os.environ, CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "2"))
    cmd = ["cargo", "build", "--release", "-q", "-p", package]
    if package == "ananke-devtools":
        cmd += ["--bin", binary]
    log(f"quality: {' '.join(cmd)}")
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    return str(target / "release" / binary)


PROBE = "ananke quality probe"


def probe(task, original, ctx, args):
    """Whether the task's function is compiled at all on this platform (not `cfg`'d out), and whether the crate's
    unit tests reach it: a body of `compile_error!` must fail `cargo check`, one of `panic!` must fail
    `cargo test --lib`. The crate's file is left with the `panic!` body: the caller restores it."""
    path = ctx["crates"] / task["crate"] / task["file"]
    prefix, suffix = original[:task["body_start"]], original[task["body_end"]:]
    path.write_bytes(prefix + b'{ compile_error!("' + PROBE.encode() + b'") }' + suffix)
    crate_dir = ctx["crates"] / task["crate"]
    code, _, err, _ = run(["cargo", "check", "--offline", "--quiet"], cwd=crate_dir, env=ctx["env"],
                          timeout=args.timeout)
    compiled = code is not None and code != 0 and PROBE in err
    reached = None
    if compiled and task.get("tests"):
        path.write_bytes(prefix + b'{ panic!("' + PROBE.encode() + b'") }' + suffix)
        code, _, _, _ = run(["cargo", "test", "--offline", "--lib", "-q"], cwd=crate_dir, env=ctx["env"],
                            timeout=args.timeout)
        reached = code != 0
    return {"compiled": compiled, "reached": reached}


def probe_all(tasks, ctx, args, restorer, work):
    """The probes of every task, cached in WORK/probes.json by task and file content."""
    cache_file = work / "probes.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    for i, task in enumerate(tasks, 1):
        rel = f"{task['crate']}/{task['file']}"
        original = (ctx["crates"] / rel).read_bytes()
        key = f"{rel}:{task['body_start']}:{hashlib.sha1(original).hexdigest()}"
        if key not in cache:
            log(f"quality: probing task {i}/{len(tasks)} ({rel}:{task['line']} {task['name']})")
            restorer.save(rel, original)
            try:
                cache[key] = probe(task, original, ctx, args)
            finally:
                restorer.restore(ctx["crates"], rel)
            cache_file.write_text(json.dumps(cache, indent=1) + "\n")
        task["probe"] = cache[key]


def measure_task(task, mode, args, ctx):
    """Fills one task in one mode and measures it. The crate's file holds the blanked body on entry."""
    crate_dir = ctx["crates"] / task["crate"]
    path = crate_dir / task["file"]
    original, blanked = ctx["original"], ctx["blanked"]
    prefix, suffix = original[:task["body_start"]], original[task["body_end"]:]
    todo_line = prefix.count(b"\n") + 2  # BLANK puts `todo!()` on the line after the opening brace
    rec = {"task": f"{task['crate']}/{task['file']}:{task['line']}", "crate": task["crate"], "file": task["file"],
           "function": task["name"], "line": task["line"], "body_lines": task["body_lines"], "mode": mode,
           "has_tests": bool(task.get("tests")), "tests_reach": task.get("probe", {}).get("reached"),
           "outcome": "filled", "exit_code": None, "seconds": None,
           "body": None, "parse": False, "closed": False, "syn_error": None, "compile": False,
           "compile_errors": [], "test_pass": False if task.get("tests") else None, "forbidden": [], "status": None,
           "attempts": None,
           "tokens": None, "elapsed_ms": None, "tokens_per_s": None, "mask_us_per_token": None,
           "report_source": None, "fill_json": None, "stderr_tail": None}

    if MODES[mode] is None:
        path.write_bytes(original)
        body = task["body"]
        rec["outcome"] = "reference"
    else:
        path.write_bytes(blanked)
        cmd = [ctx["ananke"], "fill", f"{task['file']}:{todo_line}", "--project", ".", "--no-config", "--force",
               "--seed", str(args.seed), "--max-tokens", str(args.max_tokens)]
        if ctx["json"]:
            cmd += ["--format", "json"]
        if args.model:
            cmd += ["--model", str(args.model)]
        cmd += MODES[mode]
        code, out, err, secs = run(cmd, cwd=crate_dir, env=ctx["env"], timeout=args.timeout)
        rec["exit_code"], rec["seconds"] = code, round(secs, 2)
        report = fill_report(out, err, task["name"])
        rec.update({k: report[k] for k in ("status", "attempts", "tokens", "elapsed_ms", "tokens_per_s",
                                           "mask_us_per_token")})
        rec["report_source"], rec["fill_json"] = report["source"], report["raw"]
        now = path.read_bytes()
        if code is None:
            rec["outcome"] = "timeout"
        elif code not in (0, 1):  # 1: filled, but a checked constraint is broken (written anyway with --force)
            rec["outcome"] = "error"
        if code is None or code not in (0, 1):
            rec["stderr_tail"] = err.strip()[-1500:]
        if now == blanked:
            if rec["outcome"] == "filled":
                rec["outcome"] = "unfilled"
                rec["stderr_tail"] = err.strip()[-1500:]
            return rec
        if not (now.startswith(prefix) and now.endswith(suffix) and len(now) >= len(prefix) + len(suffix)):
            rec["outcome"] = "error"
            rec["stderr_tail"] = "fill changed the file outside the hole's body\n" + err.strip()[-1000:]
            return rec
        body = now[len(prefix):len(now) - len(suffix)].decode("utf-8", errors="replace")
        if report["body"] is not None:
            rec["json_body_matches"] = report["body"] == body  # what fill says it wrote is what the file holds
        if rec["outcome"] != "filled":
            rec["outcome"] += "+written"

    rec["body"] = body
    verdict = syntax_verdict(ctx["devtools"], task["header"], body)
    rec["parse"] = bool(verdict.get("parse"))
    rec["closed"] = rec["parse"] or bool(verdict.get("closed")) or braces_close(body)
    rec["syn_error"] = verdict.get("error") or None
    rec["forbidden"] = forbidden_in(body)

    key = (task["crate"], task["file"], task["body_start"], body)
    if key not in ctx["builds"]:
        code, out, err, _ = run(["cargo", "check", "--offline", "--quiet"], cwd=crate_dir, env=ctx["env"],
                                timeout=args.timeout)
        compiled = code == 0
        errors = first_errors(err) if code is not None else ["cargo check timed out"]
        # rustc's `unconditional_recursion` warning: the body compiles but never returns.
        recursion = compiled and "without recursing" in err
        passed = None
        if task.get("tests") and compiled:
            code, out, err, _ = run(["cargo", "test", "--offline", "--lib", "-q"], cwd=crate_dir, env=ctx["env"],
                                    timeout=args.timeout)
            passed = code == 0
        ctx["builds"][key] = (compiled, errors, passed, recursion)
    compiled, errors, passed, recursion = ctx["builds"][key]
    rec["compile"], rec["compile_errors"], rec["recursion"] = compiled, errors, recursion
    rec["test_pass"] = (bool(passed) if compiled else False) if task.get("tests") else None
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default=DEFAULT_MODES, help=f"comma-separated, of: {', '.join(MODES)}")
    ap.add_argument("--limit", type=int, help="only the first N tasks (of those left after the probes)")
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=ROOT / "target/quality")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per fill (and per cargo command)")
    ap.add_argument("--ananke", type=Path, help="the ananke binary (default: build target/release/ananke)")
    ap.add_argument("--devtools", type=Path, help="devtools' parse-bodies binary (default: build it)")
    ap.add_argument("--model", type=Path, help="the GGUF model to pass to ananke fill (default: its own default)")
    ap.add_argument("--keep-uncompiled", action="store_true",
                    help="keep tasks whose function is not compiled on this platform (cfg'd out: any body builds)")
    ap.add_argument("--table-only", action="store_true", help="rebuild table.md from results.jsonl, run nothing")
    args = ap.parse_args()
    work = args.work.resolve()
    crates = work / "crates"
    tasks_file = work / "tasks.jsonl"
    if not tasks_file.is_file():
        sys.exit(f"quality: no {tasks_file}; run benches/quality/prepare.py first")
    tasks = [json.loads(l) for l in tasks_file.read_text().splitlines() if l.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        sys.exit(f"quality: unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    results_file, table_file = work / "results.jsonl", work / "table.md"

    if args.table_only:
        results = [json.loads(l) for l in results_file.read_text().splitlines() if l.strip()]
        meta = next((r for r in results if r.get("meta")), None)
        results = [r for r in results if not r.get("meta")]
        text = table(results, meta["header"] if meta else ["# Generation quality"])
        table_file.write_text(text)
        print(text, end="")
        return

    generating = any(MODES[m] is not None for m in modes)
    ananke = build("ananke-cli", "ananke", args.ananke) if generating else None
    devtools = build("ananke-devtools", "parse-bodies", args.devtools)
    use_json = False
    if generating:
        flags = supported_flags(ananke)
        use_json = "--format" in flags
        if not use_json:
            log("quality: this ananke fill has no --format; its figures are read from its stderr")
        for mode in list(modes):
            missing = [f for f in MODES[mode] or [] if f.startswith("--") and f not in flags]
            if missing:
                log(f"quality: mode {mode} skipped: ananke fill has no {', '.join(missing)}")
                modes.remove(mode)
        if not modes:
            sys.exit("quality: no mode left to run")

    cargo_target = work / "target"
    env = dict(os.environ, CARGO_TARGET_DIR=str(cargo_target),
               CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "2"), NO_COLOR="1", CARGO_TERM_COLOR="never")
    restorer = Restorer(work)
    restorer.restore_leftovers(crates)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    ctx = {"crates": crates, "ananke": ananke, "devtools": devtools, "json": use_json, "env": env, "builds": {}}
    started = time.monotonic()

    excluded = []
    stale = [t for t in tasks if (crates / t["crate"] / t["file"]).read_bytes()[t["body_start"]:t["body_end"]]
             .decode("utf-8", "replace") != t["body"]]
    if stale:
        names = ", ".join(f"{t['crate']}::{t['name']}" for t in stale)
        log(f"quality: {len(stale)} task(s) left out, their file differs from the task set (re-run prepare.py): "
            f"{names}")
        excluded.append(f"{len(stale)} task(s) whose file differs from the task set: {names}")
        tasks = [t for t in tasks if t not in stale]
    try:
        probe_all(tasks, ctx, args, restorer, work)
    except (KeyboardInterrupt, Terminated):
        sys.exit("quality: interrupted while probing the tasks; every file is restored")
    dead = [t for t in tasks if not t["probe"]["compiled"]]
    if dead and not args.keep_uncompiled:
        names = ", ".join(f"{t['crate']}::{t['name']}" for t in dead)
        log(f"quality: {len(dead)} task(s) left out, their function is not compiled on this platform: {names}")
        excluded.append(f"{len(dead)} task(s) whose function is not compiled here (`cfg`), so any body builds: "
                        f"{names}")
        tasks = [t for t in tasks if t["probe"]["compiled"]]
    if args.limit is not None:
        tasks = tasks[:args.limit]
    if not tasks:
        sys.exit("quality: no task left to run")

    head = header(args, tasks, ananke)
    reached = sum(1 for t in tasks if t["probe"]["reached"])
    head.append(f"- unit tests reach the function (a `panic!` body fails them) in {reached} of the "
                f"{sum(1 for t in tasks if t.get('tests'))} tasks with tests")
    head += [f"- left out: {e}" for e in excluded]
    head.append(f"- modes: {', '.join(modes)}")
    results = []
    total = len(tasks) * len(modes)
    done = 0
    interrupted = False
    with open(results_file, "w") as out:
        out.write(json.dumps({"meta": True, "header": head, "argv": sys.argv[1:]}) + "\n")
        try:
            for i, task in enumerate(tasks, 1):
                rel = f"{task['crate']}/{task['file']}"
                original = (crates / rel).read_bytes()
                ctx["original"] = original
                ctx["blanked"] = original[:task["body_start"]] + BLANK + original[task["body_end"]:]
                restorer.save(rel, original)
                try:
                    for mode in modes:
                        t = time.monotonic()
                        try:
                            rec = measure_task(task, mode, args, ctx)
                        except (KeyboardInterrupt, Terminated):
                            raise
                        except Exception as e:  # a failing task never stops the run
                            rec = {"task": f"{rel}:{task['line']}", "crate": task["crate"], "function": task["name"],
                                   "mode": mode, "has_tests": bool(task.get("tests")),
                                   "tests_reach": task["probe"]["reached"], "outcome": "error",
                                   "parse": False, "closed": False, "compile": False,
                                   "test_pass": False if task.get("tests") else None, "forbidden": [],
                                   "stderr_tail": f"harness: {type(e).__name__}: {e}"}
                        results.append(rec)
                        out.write(json.dumps(rec) + "\n")
                        out.flush()
                        done += 1
                        marks = [("parse", rec["parse"]), ("closed", rec["closed"]), ("compile", rec["compile"])]
                        if rec["test_pass"] is not None:
                            marks.append(("test", rec["test_pass"]))
                        marks = " ".join(f"{name}{'+' if ok else '-'}" for name, ok in marks)
                        forb = f" forbidden:{','.join(rec['forbidden'])}" if rec.get("forbidden") else ""
                        figures = ""
                        if rec.get("tokens") is not None:
                            figures = f" {rec['tokens']} tok, {fmt(rec.get('tokens_per_s'))} tok/s"
                        elapsed = time.monotonic() - started
                        eta = elapsed / done * (total - done)
                        log(f"[{i}/{len(tasks)}] {rel}:{task['line']} {task['name']} {mode}: {rec['outcome']} {marks}"
                            f"{forb}{figures} ({time.monotonic() - t:.1f} s; eta {eta / 60:.0f} min)")
                        if rec["outcome"] in ("error", "timeout", "unfilled") and rec.get("stderr_tail"):
                            log("    " + rec["stderr_tail"].strip().splitlines()[-1][:300])
                finally:
                    restorer.restore(crates, rel)
        except (KeyboardInterrupt, Terminated):
            interrupted = True
            log(f"quality: interrupted after {done} of {total} fills; every file is restored")
    head.append(f"- {'interrupted after ' if interrupted else ''}{done} of {total} fills in "
                f"{(time.monotonic() - started) / 60:.1f} min; load average {os.getloadavg()[0]:.2f} at the end "
                "(timings need an otherwise idle machine)")
    text = table(results, head)
    table_file.write_text(text)
    print(text, end="")
    log(f"quality: {results_file} and {table_file} in {(time.monotonic() - started) / 60:.1f} min")
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
