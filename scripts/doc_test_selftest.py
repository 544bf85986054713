#!/usr/bin/env python3
"""Shows that scripts/doc_test.py fails on a broken example: a README with one good example, one
deliberately broken one (an option that does not exist) and one marked as skipped must fail, naming the
broken command; the same README without the broken example must pass. Needs the release build."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GOOD = '```sh\n# a comment line is not a command\n.build/release/psr tokenize "Hello world"\n```\n'
BROKEN = '```sh\n.build/release/psr tokenize --no-such-flag "Hello world"\n```\n'
SKIPPED = '<!-- doctest: skip a server -->\n```sh\n.build/release/psr serve --port 8080\n```\n'


def run(readme_text):
    with tempfile.TemporaryDirectory() as d:
        readme = os.path.join(d, "README.md")
        with open(readme, "w") as f:
            f.write(readme_text)
        p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/doc_test.py"), "--readme", readme, "--no-help",
                            "--scratch", os.path.join(d, "scratch")], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


failures = []
status, out = run("# Broken\n\n" + GOOD + BROKEN + SKIPPED)
if status == 0:
    failures.append("a README with a broken example passed")
if "failed: README.md" not in out or "--no-such-flag" not in out.split("failed: README.md")[-1]:
    failures.append("the failure does not name the broken example")
if "1 passed, 1 failed, 1 skipped" not in out:
    failures.append("the counts are not 1 passed, 1 failed, 1 skipped")
status2, out2 = run("# Fine\n\n" + GOOD + SKIPPED)
if status2 != 0 or "1 passed, 0 failed, 1 skipped" not in out2:
    failures.append("a README without the broken example did not pass")
if failures:
    print(out + "\n" + out2)
    sys.exit("doc_test self-test: " + "; ".join(failures))
print("doc_test self-test: a broken example fails the run and is named; the same README without it passes")
