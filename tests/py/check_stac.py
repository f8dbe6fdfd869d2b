"""Check a STAC tree written by arco with the Python tools people use.

    check_stac.py CATALOG --schemas DIR [--expect-items N] [--index PARQUET]

- pystac reads the catalog and `validate_all()` passes, with the schemas
  taken only from DIR (its schema-map.json): any attempt to fetch a schema
  over HTTP fails the check, so this is offline;
- every asset href resolves to a file whose size is `file:size` and whose
  sha2-256 multihash is `file:checksum`;
- stac-validator (pinned, with `--schema-map` for every schema) validates
  the whole tree recursively;
- the stac-geoparquet index, when given, is read by pyarrow: one row per
  Item, GeoParquet `geo` metadata, the ids of the tree.

Prints a JSON summary; exits 1 with the reason on the first failure.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import pystac
import pystac.validation
from pystac.validation.stac_validator import JsonSchemaSTACValidator


def fail(msg):
    print(f"check_stac: {msg}", file=sys.stderr)
    sys.exit(1)


def schema_map(schemas):
    with open(os.path.join(schemas, "schema-map.json")) as f:
        return {url: os.path.join(schemas, rel) for url, rel in json.load(f)["schemas"].items()}


def offline_validator(mapping):
    v = JsonSchemaSTACValidator()
    for url, path in mapping.items():
        with open(path) as f:
            doc = json.load(f)
        v.schema_cache[url] = doc
        v.schema_cache[url + "#"] = doc
    return v


class NoNetworkIO(pystac.stac_io.DefaultStacIO):
    def read_text_from_href(self, href):
        if href.startswith(("http://", "https://")):
            raise RuntimeError(f"tried to fetch {href}: validation must be offline")
        return super().read_text_from_href(href)


def multihash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "1220" + h.hexdigest()


def dir_size(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("catalog")
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--expect-items", type=int)
    ap.add_argument("--index")
    a = ap.parse_args()

    mapping = schema_map(a.schemas)
    pystac.StacIO.set_default(NoNetworkIO)
    pystac.validation.set_validator(offline_validator(mapping))

    cat = pystac.Catalog.from_file(a.catalog)
    try:
        cat.validate_all(recursive=True)
    except Exception as e:  # noqa: BLE001
        fail(f"pystac validate_all: {e}")
    items = list(cat.get_items(recursive=True))
    if a.expect_items is not None and len(items) != a.expect_items:
        fail(f"pystac found {len(items)} items, expected {a.expect_items}")
    ids = set()
    for item in items:
        ids.add((item.collection_id, item.id))
        if item.get_root().id != cat.id:
            fail(f"{item.id}: its root is not the catalog")
        if item.get_collection() is None:
            fail(f"{item.id}: its collection does not resolve")
        for key, asset in item.assets.items():
            href = asset.get_absolute_href()
            if not os.path.exists(href):
                fail(f"{item.id}/{key}: {href} does not exist")
            size = dir_size(href) if os.path.isdir(href) else os.path.getsize(href)
            if asset.extra_fields.get("file:size") != size:
                fail(f"{item.id}/{key}: file:size {asset.extra_fields.get('file:size')} != {size}")
            if os.path.isfile(href) and asset.extra_fields.get("file:checksum") != multihash(href):
                fail(f"{item.id}/{key}: file:checksum does not match the file")

    cmd = [os.path.join(os.path.dirname(sys.executable), "stac-validator"), "validate", a.catalog, "--recursive"]
    for url, path in mapping.items():
        cmd += ["--schema-map", url, path]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"stac-validator exited {out.returncode}: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    text = out.stdout
    # A banner precedes the JSON array, a summary follows it.
    start = text.index("\n[") + 1
    results = json.loads(text[start : text.rindex("\n]") + 2])
    bad = [r for r in results if not r.get("valid_stac")]
    if bad:
        fail(f"stac-validator: {json.dumps(bad)[:2000]}")

    summary = {"pystac_items": len(items), "stac_validator_objects": len(results)}
    if a.index:
        import pyarrow.parquet as pq

        t = pq.read_table(a.index)
        meta = pq.read_metadata(a.index).metadata or {}
        if b"geo" not in meta or b"stac-geoparquet" not in meta:
            fail(f"the index lacks GeoParquet 'geo' or 'stac-geoparquet' metadata: {list(meta)}")
        geo = json.loads(meta[b"geo"])
        if geo.get("primary_column") != "geometry":
            fail(f"the index's geo metadata: {geo}")
        rows = set(zip(t.column("collection").to_pylist(), t.column("id").to_pylist()))
        if rows != ids:
            fail(f"index rows {sorted(rows)} != items of the tree {sorted(ids)}")
        summary["index_rows"] = t.num_rows
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
