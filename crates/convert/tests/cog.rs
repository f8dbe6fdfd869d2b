//! COG writer against real GDAL: pixel-exact read-back, georeferencing and
//! metadata carried over, and both validators (GDAL's and rio-cogeo's
//! strict mode) accepting every file.

// Exact float comparisons are the point: outputs must be pixel-identical.
#![allow(clippy::float_cmp)]

mod common;

use arco_convert::cog::write_cog;
use arco_convert::{CogOptions, Compression, ConvertError, Predictor, RasterSource, Resampling};
use arco_core::{multihash_sha256_file, NoProgress};
use common::{assert_valid_cog, read_band, write_tif, Rng};
use gdal::raster::{ColorEntry, ColorTable, PaletteInterpretation, RgbaEntry};
use gdal::{Dataset, Metadata};
use std::path::Path;

fn convert(input: &Path, out: &Path, opts: &CogOptions) -> arco_core::Record {
    let src = RasterSource::inspect(input.to_str().unwrap(), None, None).unwrap();
    write_cog(&src, out, opts, &NoProgress).unwrap()
}

fn field_u16(w: usize, h: usize, seed: u64) -> Vec<u16> {
    let mut rng = Rng::new(seed);
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            (1000.0 + 400.0 * (x / 97.0).sin() * (y / 53.0).cos()) as u16 + (rng.next() % 50) as u16
        })
        .collect()
}

#[test]
fn uint16_with_nodata_is_pixel_exact_georeferenced_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (1300, 1100);
    let mut data = field_u16(w, h, 7);
    data[..2 * w].fill(0); // two nodata rows
    let input = dir.path().join("in.tif");
    write_tif(&input, w, h, 1, &data, 32633, Some(0.0));
    let out = dir.path().join("out.tif");
    let rec = convert(&input, &out, &CogOptions::default());

    assert_valid_cog(&out);
    assert_eq!(read_band::<u16>(&out, 1), data);
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(
        ds.geo_transform().unwrap(),
        [500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0]
    );
    assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 32633);
    let band = ds.rasterband(1).unwrap();
    assert_eq!(band.no_data_value(), Some(0.0));
    assert_eq!(band.block_size(), (512, 512));
    assert_eq!(band.overview_count().unwrap(), 2); // 1300 -> 650 -> 325
    assert_eq!(
        ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
        Some("COG")
    );
    assert_eq!(
        ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref(),
        Some("ZSTD")
    );
    assert_eq!(
        ds.metadata_item("PREDICTOR", "IMAGE_STRUCTURE").as_deref(),
        Some("2")
    );

    // Overview 1, pixel (300, 1) averages input rows 2-3, columns 600-601.
    let ovr = band.overview(0).unwrap();
    assert_eq!(ovr.size(), (650, 550));
    let px = ovr
        .read_as::<u16>((300, 1), (1, 1), (1, 1), None)
        .unwrap()
        .data()[0];
    let at = |x: usize, y: usize| f64::from(data[y * w + x]);
    let mean = (at(600, 2) + at(601, 2) + at(600, 3) + at(601, 3)) / 4.0;
    assert_eq!(px, mean.round() as u16);
    // All-nodata block stays nodata in the overview.
    let px = ovr
        .read_as::<u16>((10, 0), (1, 1), (1, 1), None)
        .unwrap()
        .data()[0];
    assert_eq!(px, 0);

    // The record describes the file as written.
    assert_eq!(rec.size, std::fs::metadata(&out).unwrap().len());
    assert_eq!(
        rec.checksum.as_deref().unwrap(),
        multihash_sha256_file(&out).unwrap()
    );
    assert_eq!((rec.width, rec.height, rec.overviews), (w, h, 2));
    assert_eq!(rec.crs.code.as_deref(), Some("EPSG:32633"));
    assert_eq!(
        rec.bbox,
        [
            500_000.0,
            5_000_000.0 - 30.0 * h as f64,
            500_000.0 + 30.0 * w as f64,
            5_000_000.0
        ]
    );
}

#[test]
fn band_statistics_in_the_record_match_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (1300, 1100);
    let mut data = field_u16(w, h, 11);
    data[..3 * w].fill(0); // three nodata rows
    let input = dir.path().join("in.tif");
    write_tif(&input, w, h, 1, &data, 32633, Some(0.0));
    let out = dir.path().join("out.tif");
    let rec = convert(&input, &out, &CogOptions::default());
    let st = rec.bands[0]
        .statistics
        .expect("statistics gathered while writing");

    // GDAL's exact statistics of the written file (not approximate), which
    // skip nodata as arco must.
    let ds = Dataset::open(&out).unwrap();
    let g = ds
        .rasterband(1)
        .unwrap()
        .get_statistics(true, false)
        .unwrap()
        .unwrap();
    assert_eq!((st.minimum, st.maximum), (g.min, g.max));
    assert!((st.mean - g.mean).abs() < 1e-9, "{} vs {}", st.mean, g.mean);
    assert!(
        (st.stddev - g.std_dev).abs() < 1e-6,
        "{} vs {}",
        st.stddev,
        g.std_dev
    );
    let valid = data.iter().filter(|&&v| v != 0).count() as f64 / (w * h) as f64 * 100.0;
    assert!((st.valid_percent - valid).abs() < 1e-9);
    assert!(st.valid_percent < 100.0);
}

#[test]
fn float_multiband_with_nan_round_trips_with_float_predictor() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (700, 530);
    let mut rng = Rng::new(3);
    let mut data: Vec<f32> = (0..w * h * 3)
        .map(|_| (rng.next() % 10_000) as f32 / 7.0)
        .collect();
    for i in (0..data.len()).step_by(13) {
        data[i] = f32::NAN;
    }
    let input = dir.path().join("in.tif");
    {
        let ds = write_tif(&input, w, h, 3, &data, 4326, Some(f64::NAN));
        let mut b = ds.rasterband(2).unwrap();
        b.set_description("nir").unwrap();
        b.set_scale(0.0001).unwrap();
        b.set_offset(-0.1).unwrap();
    }
    let out = dir.path().join("out.tif");
    convert(&input, &out, &CogOptions::default());
    assert_valid_cog(&out);
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(
        ds.metadata_item("PREDICTOR", "IMAGE_STRUCTURE").as_deref(),
        Some("3")
    );
    for b in 0..3 {
        let got = read_band::<f32>(&out, b + 1);
        let want = &data[b * w * h..(b + 1) * w * h];
        assert!(
            got.iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())),
            "band {}",
            b + 1
        );
    }
    let b2 = ds.rasterband(2).unwrap();
    assert_eq!(b2.description().unwrap(), "nir");
    assert_eq!(b2.scale(), Some(0.0001));
    assert_eq!(b2.offset(), Some(-0.1));
    assert!(b2.no_data_value().unwrap().is_nan());
}

#[test]
fn categorical_band_keeps_colour_table_and_gets_mode_overviews() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (600, 520);
    // Classes 1 and 2 in a checkerboard of 2x2 cells, with 3 in one corner of
    // each cell: mode keeps the majority class, average would invent values.
    let data: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if x % 2 == 1 && y % 2 == 1 {
                3
            } else if (x / 2 + y / 2) % 2 == 0 {
                1
            } else {
                2
            }
        })
        .collect();
    let input = dir.path().join("lc.tif");
    {
        let ds = write_tif(&input, w, h, 1, &data, 3035, None);
        let mut ct = ColorTable::new(PaletteInterpretation::Rgba);
        ct.set_color_entry(
            1,
            &ColorEntry::Rgba(RgbaEntry {
                r: 0,
                g: 128,
                b: 0,
                a: 255,
            }),
        );
        ct.set_color_entry(
            2,
            &ColorEntry::Rgba(RgbaEntry {
                r: 255,
                g: 255,
                b: 0,
                a: 255,
            }),
        );
        ds.rasterband(1).unwrap().set_color_table(&ct);
    }
    let out = dir.path().join("lc_cog.tif");
    let rec = convert(&input, &out, &CogOptions::default());
    assert!(
        rec.notes
            .iter()
            .any(|n| n.contains("mode") && n.contains("colour table")),
        "{:?}",
        rec.notes
    );
    assert_valid_cog(&out);
    assert_eq!(read_band::<u8>(&out, 1), data);
    let ds = Dataset::open(&out).unwrap();
    let band = ds.rasterband(1).unwrap();
    let ct = band.color_table().expect("colour table carried over");
    assert_eq!(
        ct.entry_as_rgb(2).unwrap(),
        RgbaEntry {
            r: 255,
            g: 255,
            b: 0,
            a: 255
        }
    );
    let ovr = band.overview(0).unwrap();
    let vals = ovr.read_band_as::<u8>().unwrap();
    assert!(
        vals.data().iter().all(|v| *v == 1 || *v == 2),
        "mode must not invent classes"
    );
}

#[test]
fn every_native_codec_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (530, 515);
    let data: Vec<i16> = field_u16(w, h, 11)
        .iter()
        .map(|v| *v as i16 - 1200)
        .collect();
    let input = dir.path().join("in.tif");
    write_tif(&input, w, h, 1, &data, 32633, Some(-9999.0));
    for (c, p) in [
        (Compression::Zstd, Predictor::Auto),
        (Compression::Deflate, Predictor::Horizontal),
        (Compression::Lzw, Predictor::Auto),
        (Compression::Lzw, Predictor::None),
        (Compression::None, Predictor::Auto),
    ] {
        let out = dir.path().join(format!("{c}-{p:?}.tif"));
        convert(
            &input,
            &out,
            &CogOptions {
                compression: c,
                predictor: p,
                blocksize: 256,
                ..CogOptions::default()
            },
        );
        assert_valid_cog(&out);
        assert_eq!(read_band::<i16>(&out, 1), data, "{c} {p:?}");
        assert_eq!(
            Dataset::open(&out)
                .unwrap()
                .rasterband(1)
                .unwrap()
                .block_size(),
            (256, 256)
        );
    }
}

#[test]
fn tiny_and_bigtiff_outputs_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("one.tif");
    write_tif(&input, 1, 1, 1, &[42u16], 4326, None);
    let out = dir.path().join("one_cog.tif");
    let rec = convert(&input, &out, &CogOptions::default());
    assert_eq!(rec.overviews, 0);
    assert_valid_cog(&out);
    assert_eq!(read_band::<u16>(&out, 1), vec![42]);

    let (w, h) = (700, 600);
    let data = field_u16(w, h, 5);
    let input = dir.path().join("big.tif");
    write_tif(&input, w, h, 1, &data, 32633, None);
    let out = dir.path().join("big_cog.tif");
    convert(
        &input,
        &out,
        &CogOptions {
            bigtiff: Some(true),
            ..CogOptions::default()
        },
    );
    assert_eq!(
        &std::fs::read(&out).unwrap()[..4],
        b"II+\0",
        "BigTIFF signature"
    );
    assert_valid_cog(&out);
    assert_eq!(read_band::<u16>(&out, 1), data);
}

#[test]
fn jpeg_and_webp_go_through_gdal_and_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (600, 600);
    let mut rng = Rng::new(9);
    let data: Vec<u8> = (0..w * h * 3).map(|_| (rng.next() % 255) as u8).collect();
    let input = dir.path().join("rgb.tif");
    write_tif(&input, w, h, 3, &data, 32633, None);
    let webp = dir.path().join("rgb_webp.tif");
    convert(
        &input,
        &webp,
        &CogOptions {
            compression: Compression::Webp,
            level: Some(90),
            ..CogOptions::default()
        },
    );
    assert_valid_cog(&webp);
    let ds = Dataset::open(&webp).unwrap();
    assert_eq!(
        ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref(),
        Some("WEBP")
    );
    let out = dir.path().join("rgb_cog.tif");
    let rec = convert(
        &input,
        &out,
        &CogOptions {
            compression: Compression::Jpeg,
            ..CogOptions::default()
        },
    );
    assert_valid_cog(&out);
    assert_eq!(rec.overviews, 1);
    let ds = Dataset::open(&out).unwrap();
    assert!(ds
        .metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
        .unwrap()
        .contains("JPEG"));
}

#[test]
fn bands_dtype_and_resampling_options_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (300, 200);
    let data: Vec<u16> = (0..w * h * 3).map(|i| (i % 5000) as u16).collect();
    let input = dir.path().join("in.tif");
    write_tif(&input, w, h, 3, &data, 32633, None);
    let src = RasterSource::inspect(input.to_str().unwrap(), None, Some(&[3, 1])).unwrap();
    let out = dir.path().join("sel.tif");
    let opts = CogOptions {
        dtype: Some(arco_convert::DType::F32),
        resampling: Some(Resampling::Nearest),
        blocksize: 128,
        ..CogOptions::default()
    };
    write_cog(&src, &out, &opts, &NoProgress).unwrap();
    assert_valid_cog(&out);
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(ds.raster_count(), 2);
    let got = read_band::<f32>(&out, 1);
    assert!(got
        .iter()
        .zip(&data[2 * w * h..])
        .all(|(a, b)| *a == f32::from(*b)));
    let got = read_band::<f32>(&out, 2);
    assert!(got
        .iter()
        .zip(&data[..w * h])
        .all(|(a, b)| *a == f32::from(*b)));
}

#[test]
fn bad_inputs_give_clear_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tif");
    let err = RasterSource::inspect(dir.path().join("missing.tif").to_str().unwrap(), None, None)
        .unwrap_err();
    assert!(matches!(err, ConvertError::InputNotFound { .. }), "{err}");
    assert!(err.to_string().contains("missing.tif"));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a raster\n").unwrap();
    let err = RasterSource::inspect(text.to_str().unwrap(), None, None).unwrap_err();
    assert!(matches!(err, ConvertError::NotRaster { .. }), "{err}");

    // A GeoTIFF cut in half: the header opens, the pixels do not.
    let (w, h) = (800, 800);
    let good = dir.path().join("good.tif");
    write_tif(&good, w, h, 1, &field_u16(w, h, 1), 32633, None);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.tif");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let result = RasterSource::inspect(cut.to_str().unwrap(), None, None)
        .and_then(|src| write_cog(&src, &out, &CogOptions::default(), &NoProgress));
    let err = result.unwrap_err();
    assert!(err.to_string().contains("cut.tif"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !left.iter().any(|n| n.to_string_lossy().contains("out.tif")),
        "{left:?}"
    );

    // An existing output is kept unless overwrite is asked for.
    std::fs::write(&out, b"precious").unwrap();
    let src = RasterSource::inspect(good.to_str().unwrap(), None, None).unwrap();
    let err = write_cog(&src, &out, &CogOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(err, ConvertError::OutputExists { .. }));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    write_cog(
        &src,
        &out,
        &CogOptions {
            overwrite: true,
            ..CogOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_valid_cog(&out);

    let err = write_cog(
        &src,
        &out,
        &CogOptions {
            blocksize: 500,
            overwrite: true,
            ..CogOptions::default()
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("--blocksize"), "{err}");
    let err = write_cog(
        &src,
        &out,
        &CogOptions {
            level: Some(40),
            overwrite: true,
            ..CogOptions::default()
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("1..=22"), "{err}");
}
