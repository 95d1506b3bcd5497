#!/usr/bin/env python3
"""Checks that every target's imports and its declared dependencies in Package.swift match:
no module imported without being declared, no dependency declared and never imported.
Exits 1 and names each mismatch."""
import glob
import json
import re
import subprocess
import sys

# Modules of the toolchain, not of Package.swift.
SYSTEM = {"Foundation", "FoundationXML", "FoundationEssentials", "Synchronization", "Testing", "Dispatch", "Glibc", "Darwin",
          "XCTest", "_Concurrency"}
IMPORT = re.compile(r"\s*(?:@testable\s+|@preconcurrency\s+|public\s+|internal\s+|package\s+)*import\s+(\w+)")

package = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
problems = []
for target in package["targets"]:
    name = target["name"]
    path = target.get("path") or ("Tests/" if target["type"] == "test" else "Sources/") + name
    declared = set()
    for dependency in target["dependencies"]:
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                declared.add(dependency[kind][0])
    imported = set()
    for file in glob.glob(path + "/**/*.swift", recursive=True):
        with open(file, encoding="utf-8") as source:
            for line in source:
                match = IMPORT.match(line)
                if match:
                    imported.add(match.group(1))
    for module in sorted(imported - SYSTEM - declared):
        problems.append(f"{name}: imports {module}, which Package.swift does not declare")
    for module in sorted(declared - imported):
        problems.append(f"{name}: declares {module}, which no file imports")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
