#!/usr/bin/python3
"""The part rules catch what they are for: each forbidden edge, put into a
copy of the tree, makes check_parts.py fail naming it; the copy as it is
passes."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_parts.py")

# (file that gains the include, header it must not use)
FORBIDDEN = [
    ("agent/main.cc", "collector/store/store.h"),
    ("agent/main.cc", "grading/grading.h"),
    ("common/files.cc", "grading/evidence.h"),
    ("grading/grading.cc", "collector/store/store.h"),
    ("grading/fleet.cc", "bundle/paths.h"),
    ("bundle/verify.cc", "collector/ingest/ingest.h"),
    ("bundle/report.cc", "cli/operator_cli.h"),
    ("cli/operator_cli.cc", "collector/server/server.h"),
    ("grading/policy_eval.cc", "bundle/paths.h"),
]


def run(root):
    return subprocess.run([sys.executable, CHECK, root], capture_output=True,
                          text=True)


def main(source):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for top in ("proto", "common", "grading", "bundle", "cli", "collector",
                    "agent"):
            shutil.copytree(os.path.join(source, top), os.path.join(tmp, top),
                            ignore=shutil.ignore_patterns("testdata"))
        clean = run(tmp)
        if clean.returncode != 0:
            print("the tree as it is fails:\n" + clean.stdout)
            failures += 1
        for path, header in FORBIDDEN:
            target = os.path.join(tmp, path)
            with open(target, encoding="utf-8") as f:
                before = f.read()
            with open(target, "w", encoding="utf-8") as f:
                f.write(f'#include "{header}"\n' + before)
            result = run(tmp)
            with open(target, "w", encoding="utf-8") as f:
                f.write(before)
            if result.returncode != 1 or f"{path}: " not in result.stdout \
                    or header not in result.stdout:
                print(f"not caught: {path} including {header}\n"
                      f"{result.stdout}{result.stderr}")
                failures += 1
    print(f"{len(FORBIDDEN)} forbidden includes tried, {failures} checks "
          "failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
