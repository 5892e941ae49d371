"""`make vendor`: copy the pinned front-end files out of node_modules and record their
versions and checksums beside them (tests compare what is served with these records)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from server.settings import PROJECT_ROOT

NODE = PROJECT_ROOT / "node_modules"
HTMX = PROJECT_ROOT / "web/static/vendor/htmx"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor_htmx() -> dict[str, object]:
    package = NODE / "htmx.org"
    version = json.loads((package / "package.json").read_text())["version"]
    (HTMX / "ext").mkdir(parents=True, exist_ok=True)
    shutil.copy(package / "dist/htmx.min.js", HTMX / "htmx.min.js")
    shutil.copy(package / "LICENSE", HTMX / "LICENSE")
    shutil.copy(package / "dist/ext/hx-sse.min.js", HTMX / "ext/hx-sse.min.js")
    record = {
        "package": "htmx.org",
        "version": version,
        "licence": "0BSD (see LICENSE beside this file)",
        "file": "htmx.min.js",
        "sha256": _sha256(HTMX / "htmx.min.js"),
        "extensions": {
            "sse": {
                "source": "dist/ext/hx-sse.min.js",
                "file": "ext/hx-sse.min.js",
                "sha256": _sha256(HTMX / "ext/hx-sse.min.js"),
            }
        },
    }
    (HTMX / "VERSION.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


GRAPHIQL = PROJECT_ROOT / "web/static/vendor/graphiql"
GRAPHIQL_FILES = {
    "graphiql": {
        "graphiql.min.js": "graphiql/graphiql.min.js",
        "graphiql.min.css": "graphiql/graphiql.min.css",
    },
    "react": {"react.production.min.js": "react/umd/react.production.min.js"},
    "react-dom": {"react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js"},
}


def vendor_graphiql() -> dict[str, object]:
    GRAPHIQL.mkdir(parents=True, exist_ok=True)
    shutil.copy(NODE / "graphiql/LICENSE", GRAPHIQL / "LICENSE.graphiql")
    shutil.copy(NODE / "react/LICENSE", GRAPHIQL / "LICENSE.react")
    record: dict[str, object] = {}
    for package, files in GRAPHIQL_FILES.items():
        for name, source in files.items():
            shutil.copy(NODE / source, GRAPHIQL / name)
        record[package] = {
            "version": json.loads((NODE / package / "package.json").read_text())["version"],
            "licence": "MIT (see LICENSE.graphiql or LICENSE.react beside this file)",
            "files": {name: _sha256(GRAPHIQL / name) for name in files},
        }
    (GRAPHIQL / "VERSION.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    vendor_htmx()
    vendor_graphiql()
    print("Vendored htmx and GraphiQL into web/static/vendor/.")
