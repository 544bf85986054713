#!/usr/bin/env python3
"""Runs every documented example: the README's shell blocks, then each verb's `--help` examples.

Commands are taken from the README's ```sh blocks (continuation lines joined, comment lines dropped)
and from the "Example:"/"Examples:" part of each verb's help (read through ArgumentParser's
`--experimental-dump-help`), and run in that order, each in a shell, in one scratch directory that
links the checkout's experiments/, examples/, judges/, models/, Tests/ and scripts/. `.build/release/X`
and a leading `psr`, `capture` or `compare` run the checkout's release build. An example may use a file
that an earlier one made, as a reader following the documentation would.

What this script changes is all in the two tables below, each entry with its reason:
  - SHORTEN: a flag rewritten to make a slow example quick (a smaller --limit, fewer epochs);
  - SKIP: examples that cannot run here (a server, a run of hours, the test command itself), matched by
    a pattern. A README block can also be skipped from the README's source with an HTML comment
    `<!-- doctest: skip REASON -->` on the line before its fence.
Every skipped example is printed with its reason. Any other example that exits non-zero fails the run.

Usage:
  python3 scripts/doc_test.py                     # README, then every --help
  python3 scripts/doc_test.py --readme FILE --no-help --scratch DIR
  python3 scripts/doc_test.py --list              # print the examples and what would be skipped
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TOOLS = ["capture", "psr", "compare"]
# The order verbs are run in, so that each finds what an earlier one made; verbs not named run after.
VERB_ORDER = [
    "capture", "psr fit", "psr tune-alpha", "psr sv train", "psr sv eval", "psr sv grad", "psr sv import", "psr export",
    "psr generate", "psr report", "psr tokenize", "psr inspect", "psr serve", "psr bench", "compare run", "compare merge",
    "compare judge", "compare calibrate",
]

# (pattern, reason): an example matching the pattern is not run.
SKIP = [
    (r"^swift test\b", "the test command itself: CI runs it"),
    (r"\bpsr serve\b", "a server: scripts/openai-client-check.sh and scripts/serve_soak_test.py run it"),
    (r"^curl\b", "a request to a running psr serve: scripts/openai-client-check.sh sends these"),
    (r"--judge openai", "needs an OpenAI-compatible server: scripts/openai-client-check.sh covers the judge client"),
    (r"--budget paper", "a paper-budget run takes hours (experiments/compare records them)"),
    (r"^#!|^#SBATCH|SLURM_ARRAY_TASK_ID", "a Slurm job script: needs a cluster"),
    (r"\bcompare calibrate\b", "recalibrates the judges over hundreds of generations (about 20 minutes)"),
]

# (pattern, replacement, reason): applied to every command before it runs.
SHORTEN = [
    (r"--limit 72\b", "--limit 8", "an AxBench capture of 72 responses takes minutes; 8 show the same"),
    (r"(psr sv train (?![^|&;]*--epochs)[^|&;]*?)(\s--out\s)", r"\1 --epochs 4\2", "(gives sv train an --epochs for the next rule)"),
    (r"(psr sv train [^|&;]*)--epochs \d+", r"\1--epochs 1 --limit 24", "PrOSV/FSSV training: one epoch on 24 lines"),
    (r"--samples 3\b", "--samples 1", "one sample per persona question"),
    (r"^((?:\S*/)?psr bench)(?![^|&;]*--only)", r"\1 --only prefill,decode --prefill-tokens 64 --decode-tokens 16",
     "the full bench takes minutes; two figures show it prints as it measures"),
    (r"(psr tune-alpha (?![^|&;]*--examples)[^|&;]*)$", r"\1 --examples 16", "(gives tune-alpha an --examples for the next rule)"),
    (r"(psr tune-alpha [^|&;]*)--examples \d+", r"\1--examples 4", "tune-alpha on 4 held-out examples"),
]


def readme_commands(path):
    """(command, skip reason or None, source) for each command of the README's sh blocks."""
    out = []
    lines = open(path, encoding="utf-8").read().splitlines()
    i, skip_next, pending = 0, None, None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*<!--\s*doctest:\s*skip\s*(.*?)\s*-->", line)
        if m:
            pending = m.group(1) or "marked in the README"
        elif re.match(r"```(sh|bash|shell)\s*$", line.strip()):
            skip_next, pending = pending, None
            i += 1
            start = i
            while i < len(lines) and not lines[i].strip().startswith("```"):
                i += 1
            # Each command is named by the line it starts on (1-based), so a failure points at it.
            j = start
            while j < i:
                first = j
                while j < i - 1 and lines[j].rstrip().endswith("\\"):
                    j += 1
                for cmd in join_continuations(lines[first:j + 1]):
                    out.append((cmd, skip_next, f"{os.path.basename(path)}:{first + 1}"))
                j += 1
            skip_next = None
        elif line.strip():
            pending = pending if line.strip().startswith("<!--") else None
        i += 1
    return out


def join_continuations(lines):
    cmds, current = [], ""
    for raw in lines:
        line = raw.rstrip()
        if not current and (not line.strip() or line.strip().startswith("#") and not line.startswith("#!")):
            continue
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        current += line.strip() if current else line.strip()
        cmds.append(current)
        current = ""
    if current:
        cmds.append(current.strip())
    return cmds


def help_commands(build):
    """(command, None, source) for the examples in every verb's help, in VERB_ORDER."""
    found = {}

    def walk(command, path):
        name = " ".join(path)
        text = (command.get("discussion") or "") + "\n" + (command.get("abstract") or "")
        m = re.search(r"Examples?(?: \([^)]*\))?:\s*\n(.*)", text, re.S)
        if m:
            lines, body = [], m.group(1).splitlines()
            for line in body:
                if not line.strip():
                    if lines:
                        break
                    continue
                lines.append(line)
            cmds = [c.strip() for c in join_continuations([strip_trailing_comment(l) for l in lines])]
            cmds = [c for c in cmds if c.split()[0] in TOOLS + ["curl"]]
            found[name] = cmds
        for sub in command.get("subcommands") or []:
            walk(sub, path + [sub["commandName"]])

    for tool in TOOLS:
        dump = subprocess.run([os.path.join(build, tool), "--experimental-dump-help"], capture_output=True, text=True, check=True)
        walk(json.loads(dump.stdout)["command"], [tool])
    order = [v for v in VERB_ORDER if v in found] + sorted(v for v in found if v not in VERB_ORDER)
    return [(c, None, f"{v} --help") for v in order for c in found[v]]


def strip_trailing_comment(line):
    # `cmd   # note` in help text: the note is for the reader. A '#' inside quotes stays.
    out, quote = "", None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return out.rstrip()
        out += ch
    return out


def prepare(cmd, build):
    for pattern, replacement, _ in SHORTEN:
        cmd = re.sub(pattern, replacement, cmd)
    cmd = re.sub(r"(?<![\w/.])\.build/release/", build + "/", cmd)
    cmd = re.sub(r"(?<![\w/.-])scripts/setup\.sh", os.path.join(ROOT, "scripts/setup.sh"), cmd)
    # A tool named at the start of a command, or after && or |, is the checkout's build.
    return re.sub(r"(^|&&\s*|\|\s*)(capture|psr|compare)(?=\s)", lambda m: m.group(1) + os.path.join(build, m.group(2)), cmd)


def skip_reason(cmd):
    for pattern, reason in SKIP:
        if re.search(pattern, cmd):
            return reason
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--no-help", action="store_true", help="run the README's examples only")
    ap.add_argument("--build", default=os.path.join(ROOT, ".build/release"), help="folder of the release executables")
    ap.add_argument("--scratch", help="working directory (default: a new temporary one, removed on success)")
    ap.add_argument("--list", action="store_true", help="print the examples and skips, run nothing")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one example may take")
    args = ap.parse_args()

    examples = readme_commands(args.readme)
    if not args.no_help:
        examples += help_commands(args.build)
    scratch = args.scratch or tempfile.mkdtemp(prefix="psr-doctest-")
    os.makedirs(scratch, exist_ok=True)
    for d in ["experiments", "examples", "judges", "models", "Tests", "scripts"]:
        link = os.path.join(scratch, d)
        if not os.path.lexists(link) and os.path.exists(os.path.join(ROOT, d)):
            os.symlink(os.path.join(ROOT, d), link)

    ran, skipped, failed, seen = 0, [], [], {}
    for cmd, marked, source in examples:
        # The same example twice (a verb's help repeats the README): it ran once; a second run would
        # only meet the refusal to overwrite that the first run's output rightly gets.
        key = re.sub(r"^scripts/setup\.sh && ", "", cmd.replace(".build/release/", ""))
        reason = marked or skip_reason(cmd) or (f"the same as {seen[key]}, run above" if key in seen else None)
        seen.setdefault(key, source)
        if reason:
            skipped.append((source, cmd, reason))
            print(f"doctest: skip  {source}: {cmd[:100]}\n               ({reason})", flush=True)
            continue
        run = prepare(cmd, args.build)
        if args.list:
            print(f"doctest: would run  {source}: {run}")
            continue
        print(f"doctest: run   {source}: {cmd}", flush=True)
        shortened = [reason for pattern, _, reason in SHORTEN if re.search(pattern, cmd)]
        if shortened:
            print(f"               shortened: {'; '.join(shortened)}", flush=True)
        start = time.time()
        env = dict(os.environ)
        env.pop("PSR_MODEL", None)
        try:
            p = subprocess.run(["bash", "-c", "set -eo pipefail; " + run], cwd=scratch, env=env, capture_output=True, text=True,
                               timeout=args.timeout)
            status, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            status, err = 124, f"timed out after {args.timeout:.0f} s"
        ran += 1
        took = time.time() - start
        if status != 0:
            tail = "\n".join(l for l in err.strip().splitlines()[-5:] if l.strip())
            print(f"doctest: FAIL  exit {status} after {took:.1f} s\n{tail}", flush=True)
            failed.append((source, cmd, status))
        else:
            print(f"doctest: ok    {took:.1f} s", flush=True)
    print(f"doctest: {len(skipped)} examples skipped, each with its reason above")
    for source, cmd, status in failed:
        print(f"doctest: failed: {source}: {cmd} (exit {status})")
    print(f"{ran - len(failed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    if failed:
        sys.exit(1)
    if not args.scratch and not args.list:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
