"""The trainer's YAML editor in the page: vendored CodeMirror 6 modules named by an import map.

The CodeMirror packages are copied unchanged from npm into frontend/static/vendor/codemirror/
(tools/vendor_codemirror.py writes them and manifest.json). Their files import each other by
bare names (`@codemirror/state`), which an import map in the page resolves to those files;
nothing is bundled or built. The map is an inline script, so the editor pages' policy allows
exactly its SHA-256. CodeMirror writes its own styles into a `<style>` element, so those pages
also allow styles carrying the response's nonce (`EditorView.cspNonce`); nothing is inline
otherwise, and every other page keeps the plain policy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OWN_MODULES", "EditorAssets", "editor_assets", "source_hash"]

# Our own modules the editor imports by name, so they get the content-hashed URLs.
OWN_MODULES = {"rapport/yaml-schema": "yaml-schema.js"}


@dataclass(frozen=True)
class EditorAssets:
    """The import map the editor pages carry inline, and the CSP source that allows it."""

    import_map: str
    script_hash: str


def source_hash(text: str) -> str:
    """The CSP source expression (`'sha256-…'`) that allows exactly this inline script."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def editor_assets(static_dir: Path, static_url: Callable[[str], str]) -> EditorAssets:
    """Read the vendored manifest and build the import map for the editor's modules."""
    vendor = static_dir / "vendor" / "codemirror"
    manifest = json.loads((vendor / "manifest.json").read_text(encoding="utf-8"))
    # The version in the query keeps browsers from running an old copy after an upgrade.
    imports = {name: f"/static/vendor/codemirror/{name}/index.js?v={entry['version']}"
               for name, entry in manifest.items()}
    imports.update({name: static_url(file) for name, file in OWN_MODULES.items()})
    text = json.dumps({"imports": imports}, sort_keys=True, separators=(",", ":"))
    return EditorAssets(import_map=text, script_hash=source_hash(text))
