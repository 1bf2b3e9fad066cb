#!/usr/bin/env python3
"""Prepare the generation-quality task set (see README.md in this directory).

Copies dependency-free crates from the vendored Rust corpus into a work directory with a minimal manifest (no
dev-dependencies, no optional dependencies: they cannot be resolved offline), keeps the crates whose library
builds (`cargo check`) and whose unit tests pass (`cargo test --lib`) as they are, lists their functions of 2-15
body lines with `quality-tasks`, and keeps a fixed-seed sample of those whose body blanked to `todo!()` still
builds. Writes WORK/tasks.jsonl.

    benches/quality/prepare.py [--corpus DIR] [--work DIR] [--sample N] [--seed S]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRATES = [
    "strsim", "heck", "shlex", "itoa", "httpdate", "percent-encoding", "dunce", "fastrand", "either", "slab",
    "mime", "scopeguard", "untrusted", "anstyle", "clap_lex", "utf8parse",
]


def minimal_manifest(original: Path) -> str:
    """A manifest with the package's identity and targets only, so it builds offline with no registry."""
    doc = tomllib.loads(original.read_text())
    pkg = doc.get("package", {})
    lines = ["[package]", f'name = "{pkg["name"]}"', f'version = "{pkg.get("version", "0.0.0")}"',
             f'edition = "{pkg.get("edition", "2015")}"']
    if isinstance(pkg.get("build"), str):
        lines.append(f'build = "{pkg["build"]}"')
    if pkg.get("autotests") is False:
        lines.append("autotests = false")
    lib = doc.get("lib", {})
    if lib:
        lines.append("\n[lib]")
        for key in ("path", "name"):
            if key in lib:
                lines.append(f'{key} = "{lib[key]}"')
    lines.append("\n[features]")
    features = doc.get("features", {})
    # Keep features that only enable other features (std, alloc...); drop those that name optional dependencies.
    kept = {k: [f for f in v if f in features] for k, v in features.items()
            if all(f in features for f in v)}
    for key, values in kept.items():
        lines.append(f'"{key}" = {json.dumps(values)}')
    lines.append("\n[workspace]\n")
    return "\n".join(lines)


def run(cmd, cwd, timeout=300):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return p.returncode == 0, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return False, "timeout"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = Path(os.environ.get("ANANKE_CACHE", Path.home() / ".cache/ananke"))
    ap.add_argument("--corpus", type=Path, default=cache / "corpora/rust/vendor")
    ap.add_argument("--work", type=Path, default=ROOT / "target/quality")
    ap.add_argument("--sample", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"prepare: no corpus at {args.corpus}; run scripts/fetch-corpora.sh --only rust")

    env = dict(os.environ, CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "2"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ananke-devtools", "--bin", "quality-tasks"],
                   cwd=ROOT, check=True, env=env)
    crates_dir = args.work / "crates"
    crates_dir.mkdir(parents=True, exist_ok=True)
    usable = []
    for name in CRATES:
        src = args.corpus / name
        if not src.is_dir():
            print(f"prepare: {name} not in the corpus, skipped", file=sys.stderr)
            continue
        dst = crates_dir / name
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("tests", "benches", "examples", ".cargo-checksum.json"))
        (dst / "Cargo.toml").write_text(minimal_manifest(src / "Cargo.toml"))
        ok, out = run(["cargo", "check", "--offline", "-q"], dst)
        if not ok:
            print(f"prepare: {name} does not build standalone, skipped:\n{out[-400:]}", file=sys.stderr)
            continue
        tests_ok, _ = run(["cargo", "test", "--offline", "-q", "--lib"], dst)
        usable.append((name, tests_ok))
        print(f"prepare: {name}: builds; unit tests {'pass' if tests_ok else 'unusable'}", file=sys.stderr)

    listing = subprocess.run([str(ROOT / "target/release/quality-tasks")] + [str(crates_dir / n) for n, _ in usable],
                             capture_output=True, text=True, check=True).stdout
    candidates = [json.loads(line) for line in listing.splitlines()]
    tests_by_crate = dict(usable)
    rng = random.Random(args.seed)
    rng.shuffle(candidates)
    # Round-robin over crates so that no single crate dominates the sample.
    by_crate = {}
    for task in candidates:
        by_crate.setdefault(task["crate"], []).append(task)
    chosen = []
    while len(chosen) < args.sample and any(by_crate.values()):
        for name in sorted(by_crate):
            if by_crate[name] and len(chosen) < args.sample:
                task = by_crate[name].pop()
                # The blanked body must build, or the task measures nothing.
                path = crates_dir / name / task["file"]
                original = path.read_bytes()
                blanked = original[:task["body_start"]] + b"{\n        todo!()\n    }" + original[task["body_end"]:]
                path.write_bytes(blanked)
                ok, _ = run(["cargo", "check", "--offline", "-q"], crates_dir / name)
                path.write_bytes(original)
                if ok:
                    task["tests"] = tests_by_crate[name]
                    chosen.append(task)
    out = args.work / "tasks.jsonl"
    out.write_text("".join(json.dumps(t) + "\n" for t in chosen))
    print(f"prepare: {len(chosen)} tasks from {len({t['crate'] for t in chosen})} crates -> {out}")


if __name__ == "__main__":
    main()
