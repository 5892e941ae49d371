"""The open data pages: the list of packages, previews, descriptors and the files themselves.

Files stream straight from PostgreSQL (see ``stream``). Every response carries an ETag and a
Last-Modified computed by one cheap query per package (``package.version``) and answers
conditional requests with 304 before touching the data. Responses are gzipped here, when the
client asks for it (the app has no GZipMiddleware): the stream is compressed as it goes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.errors import NotFound
from server.opendata import package as packages
from server.opendata.package import PackageRef, Stats, Version
from server.opendata.resources import BY_NAME, RESOURCES, Resource
from server.opendata.stream import CsvLines, copy_out, gzipped, raw_connection
from server.web import render

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8; header=present", "jsonl": "application/jsonl"}
STATS_CACHE_SIZE = 64


def _key(request: Request) -> str:
    return packages.anonymisation_key(request.app.state.keys.sign)


def _wants_gzip(request: Request) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def _validators(version: Version, *, gzip_: bool) -> dict[str, str]:
    tag = f'"{version.etag}{"-gzip" if gzip_ else ""}"'
    return {
        "ETag": tag,
        "Last-Modified": format_datetime(version.last_modified, usegmt=True),
        "Cache-Control": "public, no-cache",
        "Vary": "Accept-Encoding",
    }


def _not_modified(request: Request, version: Version) -> bool:
    """RFC 9110: If-None-Match wins; else If-Modified-Since (one-second resolution)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        for tag in if_none_match.split(","):
            opaque = tag.strip().removeprefix("W/").strip('"').removesuffix("-gzip")
            if opaque == version.etag:
                return True
        return False
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return version.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


async def _package(request: Request) -> tuple[PackageRef, Version]:
    async with raw_connection(request.app.state.db) as conn:
        ref = await packages.find_package(conn, request.path_params["package"])
        if ref is None:
            raise NotFound("There is no open data package with that name.")
        return ref, await packages.version(conn, ref)


def _resource(name: str) -> Resource:
    resource = BY_NAME.get(name)
    if resource is None:
        raise NotFound("The package has no resource with that name.")
    return resource


async def datapackage_json(request: Request) -> Response:
    ref, version = await _package(request)
    use_gzip = _wants_gzip(request)
    headers = _validators(version, gzip_=use_gzip)
    if _not_modified(request, version):
        return Response(status_code=304, headers=headers)
    body = json.dumps(
        packages.descriptor(ref, created=version.last_modified, base_url=str(request.base_url)),
        ensure_ascii=False,
        indent=2,
    ).encode()
    if use_gzip:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


async def data_file(request: Request) -> Response:
    name, dot, extension = request.path_params["filename"].rpartition(".")
    if not dot or extension not in MEDIA_TYPES:
        raise NotFound()
    resource = _resource(name)
    ref, version = await _package(request)
    use_gzip = _wants_gzip(request)
    headers = _validators(version, gzip_=use_gzip)
    if _not_modified(request, version):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{ref.name}-{resource.name}.{extension}"'
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        return Response(headers=headers, media_type=MEDIA_TYPES[extension])
    jsonl = extension == "jsonl"
    query = packages.file_query(resource, ref, jsonl=jsonl, key=_key(request))
    db = request.app.state.db

    async def body() -> AsyncIterator[bytes]:
        # The connection is taken when the body starts and given back when it ends (or the
        # client goes away), not held while the response waits to be sent.
        async with raw_connection(db) as conn:
            chunks = copy_out(conn, query, jsonl=jsonl, transform=None if jsonl else CsvLines())
            async for chunk in gzipped(chunks) if use_gzip else chunks:
                yield chunk

    return StreamingResponse(body(), media_type=MEDIA_TYPES[extension], headers=headers)


async def _stats(request: Request, ref: PackageRef, version: Version) -> Stats:
    """Rows and sizes, computed once per version of a package and kept in memory."""
    cache: dict[tuple[str, str], Stats] | None = getattr(request.app.state, "opendata_stats", None)
    if cache is None:
        cache = request.app.state.opendata_stats = {}
    found = cache.get((ref.name, version.etag))
    if found is None:
        async with raw_connection(request.app.state.db) as conn:
            found = await packages.stats(conn, ref, key=_key(request))
        if len(cache) >= STATS_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[(ref.name, version.etag)] = found
    return found


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


async def index(request: Request) -> Response:
    async with raw_connection(request.app.state.db) as conn:
        refs = await packages.list_packages(conn)
        versions = [await packages.version(conn, ref) for ref in refs]
    listed: list[dict[str, Any]] = []
    for ref, version in zip(refs, versions, strict=True):
        listed.append(
            {"ref": ref, "version": version, "stats": await _stats(request, ref, version)}
        )
    return render(
        request,
        "opendata/index.html",
        {
            "packages": listed,
            "resources": RESOURCES,
            "licence": packages.LICENCE,
            "human_size": human_size,
        },
    )


async def preview(request: Request) -> Response:
    resource = _resource(request.path_params["resource"])
    async with raw_connection(request.app.state.db) as conn:
        ref = await packages.find_package(conn, request.path_params["package"])
        if ref is None:
            raise NotFound("There is no open data package with that name.")
        rows = await packages.preview(conn, ref, resource, key=_key(request))
    context = {"ref": ref, "resource": resource, "rows": rows}
    if request.headers.get("HX-Request") == "true":
        return render(request, "opendata/_preview.html", context)
    return render(request, "opendata/preview.html", context)


routes = [
    Route("/open-data", index, methods=["GET"]),
    Route("/open-data/{package}/datapackage.json", datapackage_json, methods=["GET"]),
    Route("/open-data/{package}/{resource}/preview", preview, methods=["GET"]),
    Route("/open-data/{package}/{filename}", data_file, methods=["GET"]),
]
