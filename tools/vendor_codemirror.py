#!/usr/bin/env python3
"""Reproduce frontend/static/vendor/codemirror/ from the pinned npm packages.

    python3 tools/vendor_codemirror.py           # install the pins, copy, write the manifest
    python3 tools/vendor_codemirror.py --check   # the same into a temporary folder, then compare

The pins are tools/codemirror/package.json (exact versions) and its package-lock.json
(each tarball's integrity, checked by `npm ci`). Each package's ES module entry file is
copied byte for byte as `<package>/index.js` beside the package's LICENSE, and manifest.json
records the version, the lock's integrity and the copied file's SHA-256. Nothing is built or
rewritten: the page maps the bare specifiers (`@codemirror/state`, ...) to these files with
an import map (app.web.editor_assets). To upgrade, change the versions in package.json, run
`npm install --package-lock-only --ignore-scripts --prefix tools/codemirror`, then this.

Needs Node's npm and the npm registry.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "tools" / "codemirror"
OUT = ROOT / "frontend" / "static" / "vendor" / "codemirror"


def _entry(package_dir: Path) -> Path:
    """The ES module file a browser imports for the package (its `import` export)."""
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    exports = meta.get("exports")
    if isinstance(exports, dict) and "." in exports:
        exports = exports["."]
    target = exports.get("import") if isinstance(exports, dict) else None
    target = target or meta.get("module")
    if not isinstance(target, str):
        raise SystemExit(f"{meta['name']}: no ES module entry in its package.json")
    return package_dir / target


def _install(work: Path) -> Path:
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PINS / name, work / name)
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed (apt-get install npm)")
    # Fixed arguments, no shell: npm installs exactly what the lock file pins.
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"],  # noqa: S603
                   cwd=work, check=True)
    return work / "node_modules"


def vendor(out: Path) -> dict[str, dict[str, str]]:
    """Install the pins into a temporary folder and copy each package's entry file to out."""
    lock = json.loads((PINS / "package-lock.json").read_text(encoding="utf-8"))
    wanted = json.loads((PINS / "package.json").read_text(encoding="utf-8"))["dependencies"]
    manifest: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-codemirror-") as folder:
        modules = _install(Path(folder))
        if out.exists():
            shutil.rmtree(out)
        for name, version in sorted(wanted.items()):
            source = modules / name
            meta = json.loads((source / "package.json").read_text(encoding="utf-8"))
            if meta["version"] != version:
                raise SystemExit(f"{name}: installed {meta['version']}, pinned {version}")
            target = out / name
            target.mkdir(parents=True)
            shutil.copyfile(_entry(source), target / "index.js")
            shutil.copyfile(source / "LICENSE", target / "LICENSE")
            manifest[name] = {
                "version": version,
                "license": meta.get("license", ""),
                "integrity": lock["packages"][f"node_modules/{name}"]["integrity"],
                "sha256": hashlib.sha256((target / "index.js").read_bytes()).hexdigest(),
            }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def _same_tree(left: Path, right: Path) -> list[str]:
    """Files that differ between two folders, or exist in only one."""
    compared = filecmp.dircmp(left, right)
    found = [str(left / n) for n in compared.left_only + compared.right_only + compared.diff_files]
    for sub in compared.common_dirs:
        found += _same_tree(left / sub, right / sub)
    return found


def main(argv: list[str]) -> int:
    """Vendor the pinned CodeMirror files, or with --check say whether the committed ones match."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="vendor into a temporary folder and compare with the committed files")
    args = parser.parse_args(argv)
    if not args.check:
        manifest = vendor(OUT)
        print(f"vendored {len(manifest)} packages into {OUT.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="rapport-codemirror-check-") as folder:
        fresh = Path(folder) / "codemirror"
        vendor(fresh)
        differ = _same_tree(OUT, fresh)
    for path in differ:
        print(f"differs: {path}")
    print("the vendored files match the pins" if not differ else f"{len(differ)} files differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
