//! Writes N STAC Items (default 10000) through the library, as `arco
//! convert` does for a product directory, then the root catalog: for
//! `bench/stac.py`. The records are what a COG writer returns for N
//! Sentinel-2-like 10980 x 10980 tiles in UTM 33N, one date each
//! (deterministic: no files are read or needed).
//!
//!     cargo run --release -p arco-catalog --example stac_items -- OUT_DIR [N]

use arco_catalog::{
    build_catalog, write_product_dir, CatalogOptions, ProductOptions, ProductOutput,
};
use arco_core::{BandRecord, BandStatistics, CrsRecord, Format, Record};
use std::path::PathBuf;
use std::time::Instant;

#[allow(clippy::print_stdout)]
fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: stac_items OUT_DIR [N]"));
    let n: usize = args.next().map_or(10_000, |v| v.parse().expect("N"));
    let started = Instant::now();
    let product = out.join("tiles");
    std::fs::create_dir_all(&product).expect("create the output directory");
    let srs = gdal::spatial_ref::SpatialRef::from_epsg(32633).expect("EPSG:32633");
    let crs = CrsRecord {
        code: Some("EPSG:32633".into()),
        wkt2: srs.to_wkt().expect("wkt"),
        projjson: None,
    };
    let day0 = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let (col, row) = ((i % 10) as f64, ((i / 10) % 50) as f64);
            let x0 = 300_000.0 + col * 109_800.0;
            let y0 = 5_000_000.0 + row * 109_800.0;
            let date = day0 + chrono::Duration::days((i / 500) as i64);
            let name = format!("T33_{:03}_{}", i % 500, date.format("%Y-%m-%d"));
            let v = i as f64;
            Record {
                path: product.join(format!("{name}.tif")),
                format: Format::Cog,
                media_type: Format::Cog.media_type(),
                size: 100_000_000 + i as u64,
                checksum: Some(format!("1220{:064x}", (i as u128) * 0x9e37_79b9_7f4a_7c15)),
                width: 10_980,
                height: 10_980,
                dtype: "uint16".into(),
                bands: vec![BandRecord {
                    name: Some("nir".into()),
                    nodata: Some(0.0),
                    scale: Some(0.0001),
                    statistics: Some(BandStatistics {
                        minimum: 1.0,
                        maximum: 9000.0 + v,
                        mean: 3000.0 + v / 10.0,
                        stddev: 800.0,
                        valid_percent: 99.5,
                    }),
                    ..Default::default()
                }],
                crs: crs.clone(),
                geotransform: [x0, 10.0, 0.0, y0 + 109_800.0, 0.0, -10.0],
                bbox: [x0, y0, x0 + 109_800.0, y0 + 109_800.0],
                datetimes: vec![format!("{}T00:00:00Z", date.format("%Y-%m-%d"))],
                overviews: 5,
                notes: vec![],
                vector: None,
            }
        })
        .collect();
    let outs: Vec<ProductOutput> = records
        .iter()
        .map(|r| ProductOutput {
            record: r,
            role: "data",
            variable: None,
        })
        .collect();
    // The catalog first (over the still empty product), as when products
    // are added to a published tree: each Item is then written once, with
    // its final root link.
    write_product_dir(&product, &[], &ProductOptions::default()).expect("collection");
    build_catalog(
        &out,
        std::slice::from_ref(&product),
        &CatalogOptions::default(),
    )
    .expect("catalog");
    let stac = write_product_dir(&product, &outs, &ProductOptions::default()).expect("items");
    println!(
        "{{\"items\": {}, \"seconds\": {:.3}}}",
        stac.items.len(),
        started.elapsed().as_secs_f64()
    );
}
