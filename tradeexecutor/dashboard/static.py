"""Static files of the dashboards: BokehJS from the installed bokeh wheel, our CSS and JS.

URLs carry a content hash (`/static/bokeh.min.js?v=1a2b3c4d`), so browsers may cache them
for a year: a new version is a new URL. Files are read once and kept in memory (BokehJS is
1.3 MB, 0.4 MB gzipped; the gzip is computed once too).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OWN = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class StaticFile:
    name: str
    data: bytes
    gzipped: bytes
    content_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _bokeh_js(name: str) -> Path:
    spec = importlib.util.find_spec("bokeh")  # located without importing bokeh (1.4 s)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the bokeh package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "server" / "static" / "js" / name


def _path(name: str) -> Path | None:
    if name == "bokeh.min.js":
        return _bokeh_js(name)
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    candidate = OWN / name
    return candidate if candidate.is_file() else None


@cache
def load(name: str) -> StaticFile | None:
    """The file called `name`, or None: only our own directory and BokehJS are served."""
    path = _path(name)
    if path is None or not path.is_file() or path.suffix not in TYPES:
        return None
    data = path.read_bytes()
    return StaticFile(
        name=name,
        data=data,
        gzipped=gzip.compress(data, compresslevel=6, mtime=0),
        content_type=TYPES[path.suffix],
        version=hashlib.blake2b(data, digest_size=6).hexdigest(),
    )


def url(name: str) -> str:
    found = load(name)
    return f"/static/{name}?v={found.version}" if found is not None else f"/static/{name}"
