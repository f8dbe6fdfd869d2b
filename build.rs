//! Embeds the viewer's browser libraries (maplibre-gl, pmtiles) into the
//! binary when `web/node_modules` holds them (scripts/setup.sh runs
//! `npm ci` there), so an installed `arco view` needs no files beside it.
//! Without them the binary still builds and looks for the files at run
//! time (ARCO_WEB_DIR, or web/node_modules of this checkout).

use std::path::Path;

const ASSETS: [(&str, &str); 3] = [
    ("ARCO_ASSET_MAPLIBRE_JS", "maplibre-gl/dist/maplibre-gl.js"),
    (
        "ARCO_ASSET_MAPLIBRE_CSS",
        "maplibre-gl/dist/maplibre-gl.css",
    ),
    ("ARCO_ASSET_PMTILES_JS", "pmtiles/dist/pmtiles.js"),
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(arco_web_embedded)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules");
    println!("cargo::rerun-if-changed=web/package-lock.json");
    let mut all = true;
    for (var, rel) in ASSETS {
        let p = root.join(rel);
        println!("cargo::rerun-if-changed={}", p.display());
        if p.is_file() {
            println!("cargo::rustc-env={var}={}", p.display());
        } else {
            all = false;
        }
    }
    if all {
        println!("cargo::rustc-cfg=arco_web_embedded");
    }
}
