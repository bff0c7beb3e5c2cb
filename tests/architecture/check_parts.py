#!/usr/bin/python3
"""Checks the rules between Evidentia's parts (docs/architecture.md).

Every source file belongs to one part; a file may include headers of its own
part and of the parts it is allowed to use, never others. Test files
(*_test.cc) and the test support tree may use anything. With --binaries, the
operator CLI `evidentia` and the agent must not link RocksDB, and the CLI
must hold no server code.

  check_parts.py SOURCE_DIR [--binaries BUILD_DIR]

Exit 0 when every rule holds; 1, naming each broken one, otherwise.
"""
import os
import re
import subprocess
import sys

# Part of a file: its top-level folder.
PARTS = ("proto", "common", "grading", "isms", "view", "bundle", "cli",
         "collector", "agent")

# What each part may include besides itself. proto <- common <- grading <-
# isms <- view <- bundle <- cli; the agent uses common only; the collector
# uses grading, isms, view and bundle (and the CLI, for `evidentia-collector
# token create`), never the reverse.
ALLOWED = {
    "proto": set(),
    "common": {"proto"},
    "grading": {"proto", "common"},
    "isms": {"proto", "common", "grading"},
    "view": {"proto", "common", "grading", "isms"},
    "bundle": {"proto", "common", "grading", "isms", "view"},
    "cli": {"proto", "common", "grading", "isms", "view", "bundle"},
    "collector": {"proto", "common", "grading", "isms", "view", "bundle",
                  "cli"},
    "agent": {"proto", "common"},
}

# Generated headers outside their part's folder: whose part they are.
GENERATED = {
    "evidentia/v1/": "proto",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def part_of(path):
    top = path.split("/", 1)[0]
    return top if top in PARTS else None


def part_of_include(header):
    for prefix, part in GENERATED.items():
        if header.startswith(prefix):
            return part
    return part_of(header)


def check_sources(root):
    errors = []
    for top in PARTS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".h", ".cc")) or name.endswith("_test.cc"):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                part = part_of(path)
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    text = f.read()
                for header in INCLUDE.findall(text):
                    used = part_of_include(header)
                    if used is None or used == part:
                        continue
                    if used not in ALLOWED[part]:
                        errors.append(
                            f"{path}: the {part} part includes {header} "
                            f"of the {used} part, which it may not use")
    return errors


def needed_libraries(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True,
                         text=True, check=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.+)\]", out)


def symbols(binary):
    out = subprocess.run(["nm", "-C", binary], capture_output=True,
                         text=True, check=True).stdout
    return out


def check_binaries(build):
    errors = []
    cli = os.path.join(build, "cli", "evidentia")
    agent = os.path.join(build, "agent", "evidentia-agent")
    for binary in (cli, agent):
        if not os.path.exists(binary):
            errors.append(f"{binary}: not built")
            continue
        for lib in needed_libraries(binary):
            if lib.startswith("librocksdb"):
                errors.append(f"{binary} links {lib}")
    if os.path.exists(cli):
        table = symbols(cli)
        for server in ("evidentia::collector::CollectorService::",
                       "evidentia::collector::Ingestor::",
                       "evidentia::collector::RocksDbStore::",
                       "evidentia::collector::TransparencyLog::"):
            if server in table:
                errors.append(f"{cli} holds server code ({server})")
    return errors


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--binaries"):
        print(__doc__, file=sys.stderr)
        return 2
    errors = check_sources(argv[1])
    if len(argv) == 4:
        errors += check_binaries(argv[3])
    for error in errors:
        print(error)
    if errors:
        print(f"{len(errors)} broken rules between parts (docs/architecture.md)")
        return 1
    print("every rule between parts holds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
