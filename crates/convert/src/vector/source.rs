//! Vector input through OGR: any layer GDAL reads (Shapefile, GeoPackage,
//! GeoJSON, GeoJSONSeq, FlatGeobuf, CSV with WKT or x/y columns) as plain
//! features: ISO WKB geometry (Z and M kept) and typed attribute values.
//!
//! The hot loop talks to OGR's C API directly: one call per value, no
//! intermediate `FieldValue`, and WKB exported straight into the buffer
//! the writers keep.

use crate::error::{ConvertError, Result};
use arco_core::{CrsRecord, NoProgress, Progress};
use gdal::vector::LayerAccess;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use rayon::prelude::*;
use std::ffi::{c_int, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Attribute types arco carries from input to output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// 32-bit integer (OGR Integer, Int16).
    Int32,
    /// 64-bit integer.
    Int64,
    /// Double (OGR Real, Float32).
    Float64,
    /// UTF-8 text (also OGR Time, as `HH:MM:SS`).
    String,
    /// Boolean (OGR Integer with the Boolean subtype).
    Bool,
    /// Calendar date.
    Date,
    /// Date and time, kept as milliseconds since the epoch in UTC.
    DateTime,
    /// List of 32-bit integers.
    Int32List,
    /// List of 64-bit integers.
    Int64List,
    /// List of doubles.
    Float64List,
    /// List of strings.
    StringList,
    /// Bytes.
    Binary,
}

impl FieldKind {
    /// The type name of STAC's table extension (`table:columns[].type`).
    pub fn table_type(self) -> &'static str {
        match self {
            FieldKind::Int32 => "int32",
            FieldKind::Int64 => "int64",
            FieldKind::Float64 => "double",
            FieldKind::String => "string",
            FieldKind::Bool => "boolean",
            FieldKind::Date => "date",
            FieldKind::DateTime => "datetime",
            FieldKind::Int32List => "list<int32>",
            FieldKind::Int64List => "list<int64>",
            FieldKind::Float64List => "list<double>",
            FieldKind::StringList => "list<string>",
            FieldKind::Binary => "binary",
        }
    }

    /// True for the list kinds.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            FieldKind::Int32List
                | FieldKind::Int64List
                | FieldKind::Float64List
                | FieldKind::StringList
        )
    }
}

/// One attribute column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Its type.
    pub kind: FieldKind,
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null or unset.
    Null,
    /// Int32, Int64 (and list items of those).
    Int(i64),
    /// Float64.
    Float(f64),
    /// String.
    String(String),
    /// Bool.
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since the epoch, UTC.
    DateTime(i64),
    /// A list of values of the list's item kind.
    List(Vec<Value>),
    /// Bytes.
    Binary(Vec<u8>),
}

/// One feature: geometry as ISO WKB and values in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// ISO WKB (little endian, Z/M kept); `None` for a null geometry. An
    /// empty geometry stays an empty WKB geometry.
    pub geometry: Option<Vec<u8>>,
    /// Values, one per [`VectorSource::fields`] entry.
    pub values: Vec<Value>,
}

/// A vector layer opened for reading.
#[derive(Debug, Clone)]
pub struct VectorSource {
    /// The input file.
    pub path: PathBuf,
    /// The layer read.
    pub layer: String,
    /// The layer's CRS; `None` when it declares none.
    pub crs: Option<CrsRecord>,
    /// Attribute columns.
    pub fields: Vec<Field>,
    /// Name of the geometry column (`geometry` when the input has no name for it).
    pub geometry_column: String,
    /// Feature count when the driver knows it without a scan.
    pub feature_count: Option<u64>,
    /// OGR driver short name (`GPKG`, `ESRI Shapefile`, `GeoJSON`...).
    pub driver: String,
    /// The dataset opened by [`VectorSource::open`], kept for the first
    /// read: some drivers (GeoJSON) parse the whole file when opening.
    opened: Arc<Mutex<Option<Dataset>>>,
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Open options for CSV: geometry from a WKT column or from x/y columns
/// under their usual names, and typed columns.
const CSV_OPTIONS: &[&str] = &[
    "GEOM_POSSIBLE_NAMES=wkt,WKT,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES=x,X,lon,Lon,LON,longitude,Longitude,lng,easting",
    "Y_POSSIBLE_NAMES=y,Y,lat,Lat,LAT,latitude,Latitude,northing",
    "Z_POSSIBLE_NAMES=z,Z,elevation,height",
    "KEEP_GEOM_COLUMNS=NO",
    "AUTODETECT_TYPE=YES",
];

fn open_dataset(path: &Path) -> Result<Dataset> {
    let display = path.display().to_string();
    let is_vsi = display.starts_with("/vsi");
    if !is_vsi && !path.exists() {
        return Err(ConvertError::InputNotFound { path: display });
    }
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        open_options: if is_csv(path) {
            Some(CSV_OPTIONS)
        } else {
            None
        },
        ..Default::default()
    };
    Dataset::open_ex(path, options).map_err(|e| ConvertError::NotVector {
        path: display,
        // GDAL's messages may end in a newline; errors are one line.
        reason: e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    })
}

fn layer_names(ds: &Dataset) -> Vec<String> {
    ds.layers().map(|l| l.name()).collect()
}

/// The layer to read: the one named, or the only one.
fn pick_layer<'a>(
    ds: &'a Dataset,
    path: &Path,
    layer: Option<&str>,
) -> Result<gdal::vector::Layer<'a>> {
    let display = path.display().to_string();
    let count = ds.layer_count();
    if count == 0 {
        return Err(ConvertError::NotVector {
            path: display,
            reason: "it holds no vector layer".into(),
        });
    }
    match layer {
        Some(name) => ds
            .layer_by_name(name)
            .map_err(|_| ConvertError::NoSuchLayer {
                path: display,
                layer: name.to_string(),
                names: layer_names(ds).join(", "),
            }),
        None if count > 1 => Err(ConvertError::ChooseLayer {
            path: display,
            count,
            names: layer_names(ds).join(", "),
        }),
        None => Ok(ds.layer(0)?),
    }
}

/// The CRS record of a spatial reference: code, WKT2 and PROJJSON (which
/// GeoParquet needs: a CRS PROJ cannot express as PROJJSON is refused).
pub(crate) fn crs_record(srs: &gdal::spatial_ref::SpatialRef, path: &Path) -> Result<CrsRecord> {
    let unsupported = |reason: String| ConvertError::UnsupportedCrs {
        path: path.display().to_string(),
        reason,
    };
    let projjson = srs
        .to_projjson()
        .map_err(|e| unsupported(format!("PROJ cannot express it as PROJJSON: {e}")))?;
    let wkt2 = crate::source::wkt2_of(srs)
        .or_else(|| srs.to_wkt().ok())
        .ok_or_else(|| unsupported("it has no WKT".into()))?;
    let code = match (srs.auth_name(), srs.auth_code()) {
        (Some(name), Ok(code)) => Some(format!("{name}:{code}")),
        _ => None,
    };
    Ok(CrsRecord {
        code,
        wkt2,
        projjson: Some(projjson),
    })
}

#[allow(unsafe_code)]
fn field_kinds(layer: &gdal::vector::Layer<'_>) -> Vec<Field> {
    use gdal_sys::{OGRFieldSubType, OGRFieldType};
    // SAFETY: the layer handle is live for the borrow; the definition and
    // field definitions it returns are owned by the layer.
    unsafe {
        let defn = gdal_sys::OGR_L_GetLayerDefn(layer.c_layer());
        let n = gdal_sys::OGR_FD_GetFieldCount(defn);
        (0..n)
            .map(|i| {
                let fd = gdal_sys::OGR_FD_GetFieldDefn(defn, i);
                let name = CStr::from_ptr(gdal_sys::OGR_Fld_GetNameRef(fd))
                    .to_string_lossy()
                    .into_owned();
                let sub = gdal_sys::OGR_Fld_GetSubType(fd);
                let kind = match gdal_sys::OGR_Fld_GetType(fd) {
                    OGRFieldType::OFTInteger if sub == OGRFieldSubType::OFSTBoolean => {
                        FieldKind::Bool
                    }
                    OGRFieldType::OFTInteger => FieldKind::Int32,
                    OGRFieldType::OFTInteger64 => FieldKind::Int64,
                    OGRFieldType::OFTReal => FieldKind::Float64,
                    OGRFieldType::OFTDate => FieldKind::Date,
                    OGRFieldType::OFTDateTime => FieldKind::DateTime,
                    OGRFieldType::OFTIntegerList => FieldKind::Int32List,
                    OGRFieldType::OFTInteger64List => FieldKind::Int64List,
                    OGRFieldType::OFTRealList => FieldKind::Float64List,
                    OGRFieldType::OFTStringList | OGRFieldType::OFTWideStringList => {
                        FieldKind::StringList
                    }
                    OGRFieldType::OFTBinary => FieldKind::Binary,
                    _ => FieldKind::String,
                };
                Field { name, kind }
            })
            .collect()
    }
}

#[allow(unsafe_code)]
fn fid_column(layer: &gdal::vector::Layer<'_>) -> String {
    // SAFETY: the layer handle is live for the borrow; the name is owned by the layer.
    unsafe {
        let p = gdal_sys::OGR_L_GetFIDColumn(layer.c_layer());
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

#[allow(unsafe_code)]
fn geometry_field(layer: &gdal::vector::Layer<'_>) -> Option<String> {
    // SAFETY: as above; the name is owned by the layer.
    unsafe {
        let defn = gdal_sys::OGR_L_GetLayerDefn(layer.c_layer());
        if gdal_sys::OGR_FD_GetGeomFieldCount(defn) == 0 {
            return None;
        }
        let name = CStr::from_ptr(gdal_sys::OGR_L_GetGeometryColumn(layer.c_layer()))
            .to_string_lossy()
            .into_owned();
        Some(if name.is_empty() {
            "geometry".to_string()
        } else {
            name
        })
    }
}

/// A GeoPackage's FID column and the `[start, end)` id ranges to read in parallel.
type FidRanges = (String, Vec<(i64, i64)>);

impl VectorSource {
    /// Opens a layer. With several layers and none named, fails with the
    /// list of names; fails too when the layer has no geometry column or
    /// a CRS that has no PROJJSON form.
    pub fn open(path: &Path, layer: Option<&str>) -> Result<VectorSource> {
        let ds = open_dataset(path)?;
        let lyr = pick_layer(&ds, path, layer)?;
        let name = lyr.name();
        let Some(geometry_column) = geometry_field(&lyr) else {
            return Err(ConvertError::NoGeometry {
                path: path.display().to_string(),
                layer: name,
            });
        };
        let crs = match lyr.spatial_ref() {
            Some(srs) => Some(crs_record(&srs, path)?),
            None => None,
        };
        let fields = field_kinds(&lyr);
        let feature_count = lyr.try_feature_count();
        Ok(VectorSource {
            path: path.to_path_buf(),
            layer: name,
            crs,
            fields,
            geometry_column,
            feature_count,
            driver: ds.driver().short_name(),
            opened: Arc::new(Mutex::new(Some(ds))),
        })
    }

    /// Closes the dataset kept from [`VectorSource::open`]; a later read
    /// opens the file again. For holding many sources without as many
    /// open files.
    pub fn release(&self) {
        if let Ok(mut kept) = self.opened.lock() {
            kept.take();
        }
    }

    /// Reads every feature, reprojected to `EPSG:<code>` when asked.
    pub fn read(&self, reproject_to_epsg: Option<u32>) -> Result<Vec<Feature>> {
        self.read_with_progress(reproject_to_epsg, &NoProgress)
    }

    /// [`VectorSource::read`] with a progress hook (one step per feature).
    pub fn read_with_progress(
        &self,
        reproject_to_epsg: Option<u32>,
        progress: &dyn Progress,
    ) -> Result<Vec<Feature>> {
        self.read_into::<Vec<Feature>>(reproject_to_epsg, progress)
    }

    /// Reads every feature into `R` (one owned [`Feature`] each, or a
    /// columnar [`Table`](super::table::Table)).
    ///
    /// A large GeoPackage is read by several threads, each with its own
    /// connection and a range of feature ids (OGR reads are single-threaded
    /// per dataset); the ranges are concatenated in id order, so the result
    /// is the same as one sequential read.
    pub fn read_into<R: Rows>(
        &self,
        reproject_to_epsg: Option<u32>,
        progress: &dyn Progress,
    ) -> Result<R::Done> {
        let total = self.feature_count.unwrap_or(0);
        progress.start(&format!("reading {}", self.layer), total);
        let out = match self.fid_ranges()? {
            Some((fid, ranges)) => {
                let parts = ranges
                    .par_iter()
                    .map(|(a, b)| {
                        let filter = format!("\"{fid}\" >= {a} AND \"{fid}\" < {b}");
                        self.read_part::<R>(Some(&filter), reproject_to_epsg, progress)
                    })
                    .collect::<Result<Vec<_>>>()?;
                R::concat(parts)
            }
            None => self.read_part::<R>(None, reproject_to_epsg, progress)?,
        };
        // Some drivers (FlatGeobuf) stop silently at a truncated feature:
        // fewer features than the header promised is a broken file too.
        let read = R::count(&out);
        if let Some(n) = self.feature_count.filter(|&n| (read as u64) < n) {
            return Err(ConvertError::VectorRead {
                path: self.path.display().to_string(),
                reason: format!(
                    "reading stopped after {read} of {n} features; the file is truncated or corrupt, re-export or re-download it"
                ),
            });
        }
        progress.finish();
        Ok(out)
    }

    /// For a GeoPackage worth splitting: its FID column and one id range
    /// per worker thread.
    pub(crate) fn fid_ranges(&self) -> Result<Option<FidRanges>> {
        let threads = rayon::current_num_threads();
        if self.driver != "GPKG" || threads < 2 || self.feature_count.unwrap_or(0) < 50_000 {
            return Ok(None);
        }
        let ds = open_dataset(&self.path)?;
        let lyr = pick_layer(&ds, &self.path, Some(&self.layer))?;
        let fid = fid_column(&lyr);
        if fid.is_empty() || fid.contains('"') || self.layer.contains('"') {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MIN(\"{fid}\"), MAX(\"{fid}\") FROM \"{}\"",
            self.layer
        );
        let Ok(Some(mut rs)) = ds.execute_sql(&sql, None, gdal::vector::sql::Dialect::DEFAULT)
        else {
            return Ok(None);
        };
        let Some(row) = rs.features().next() else {
            return Ok(None);
        };
        let (Ok(Some(lo)), Ok(Some(hi))) = (row.field_as_integer64(0), row.field_as_integer64(1))
        else {
            return Ok(None);
        };
        let n = threads as i64 * 2;
        let step = ((hi - lo + 1) / n).max(1);
        let mut ranges = Vec::new();
        let mut a = lo;
        while a <= hi {
            let b = if ranges.len() as i64 == n - 1 {
                hi + 1
            } else {
                (a + step).min(hi + 1)
            };
            ranges.push((a, b));
            a = b;
        }
        Ok(Some((fid, ranges)))
    }

    /// Reads the features passing `filter` (all when `None`) in one pass.
    #[allow(unsafe_code)]
    fn read_part<R: Rows>(
        &self,
        filter: Option<&str>,
        reproject_to_epsg: Option<u32>,
        progress: &dyn Progress,
    ) -> Result<R::Done> {
        let kept = self.opened.lock().ok().and_then(|mut d| d.take());
        let ds = match kept {
            Some(ds) => ds,
            None => open_dataset(&self.path)?,
        };
        let mut lyr = pick_layer(&ds, &self.path, Some(&self.layer))?;
        if let Some(f) = filter {
            lyr.set_attribute_filter(f)?;
        }
        let transform = match reproject_to_epsg {
            None => None,
            Some(epsg) => Some(self.transform_to(&lyr, epsg)?),
        };
        let mut out = R::with_fields(&self.fields);
        let mut wkb = Vec::new();
        // SAFETY: the layer handle lives as long as `ds`; each feature
        // returned by GetNextFeature is ours and destroyed below; the
        // geometry is owned by its feature; buffers passed to GDAL are sized
        // by GDAL's own size query.
        unsafe {
            let h = lyr.c_layer();
            gdal_sys::OGR_L_ResetReading(h);
            gdal_sys::CPLErrorReset();
            let ct = transform.as_ref().map(|t| t.to_c_hct());
            loop {
                let f = gdal_sys::OGR_L_GetNextFeature(h);
                if f.is_null() {
                    break;
                }
                wkb.clear();
                let geometry = match read_geometry(f, ct, &mut wkb) {
                    Ok(present) => present.then_some(wkb.as_slice()),
                    Err(reason) => {
                        gdal_sys::OGR_F_Destroy(f);
                        return Err(ConvertError::VectorRead {
                            path: self.path.display().to_string(),
                            reason: format!("feature {}: {reason}", out.len()),
                        });
                    }
                };
                out.push(f, &self.fields, geometry);
                gdal_sys::OGR_F_Destroy(f);
                if out.len() % 4096 == 0 {
                    progress.advance(4096);
                }
            }
            if gdal_sys::CPLGetLastErrorType() >= gdal_sys::CPLErr::CE_Failure {
                let msg = CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg())
                    .to_string_lossy()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(ConvertError::VectorRead {
                    path: self.path.display().to_string(),
                    reason: format!(
                        "reading stopped after {} features ({msg}); the file is truncated or corrupt, re-export or re-download it",
                        out.len()
                    ),
                });
            }
        }
        Ok(out.finish())
    }

    fn transform_to(
        &self,
        lyr: &gdal::vector::Layer<'_>,
        epsg: u32,
    ) -> Result<gdal::spatial_ref::CoordTransform> {
        use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
        let unsupported = |reason: String| ConvertError::UnsupportedCrs {
            path: self.path.display().to_string(),
            reason,
        };
        let mut src = lyr.spatial_ref().ok_or_else(|| {
            unsupported(format!(
                "layer '{}' declares no CRS, so it cannot be reprojected to EPSG:{epsg}; assign one first (ogr2ogr -a_srs)",
                self.layer
            ))
        })?;
        let mut dst = SpatialRef::from_epsg(epsg)
            .map_err(|e| unsupported(format!("EPSG:{epsg} is unknown to PROJ ({e})")))?;
        src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        CoordTransform::new(&src, &dst)
            .map_err(|e| unsupported(format!("no transformation to EPSG:{epsg} ({e})")))
    }
}

/// Appends the feature's geometry to `buf` as ISO WKB: curves linearised,
/// reprojected when a transformation is given; checked to be a
/// simple-features type. False for a null geometry (nothing appended).
#[allow(unsafe_code)]
unsafe fn read_geometry(
    f: gdal_sys::OGRFeatureH,
    ct: Option<gdal_sys::OGRCoordinateTransformationH>,
    buf: &mut Vec<u8>,
) -> std::result::Result<bool, String> {
    let g = gdal_sys::OGR_F_GetGeometryRef(f);
    if g.is_null() {
        return Ok(false);
    }
    // Curves (GeoPackage, GML) become their linear approximation; the
    // copy is ours to destroy.
    let linear = if gdal_sys::OGR_G_HasCurveGeometry(g, 0) != 0 {
        gdal_sys::OGR_G_GetLinearGeometry(g, 0.0, std::ptr::null_mut())
    } else {
        std::ptr::null_mut()
    };
    let g = if linear.is_null() { g } else { linear };
    if let Some(ct) = ct {
        if gdal_sys::OGR_G_IsEmpty(g) == 0 && gdal_sys::OGR_G_Transform(g, ct) != 0 {
            if !linear.is_null() {
                gdal_sys::OGR_G_DestroyGeometry(linear);
            }
            return Err(
                "the geometry cannot be reprojected (outside the target CRS's area?)".into(),
            );
        }
    }
    let size = gdal_sys::OGR_G_WkbSize(g).max(0) as usize;
    let start = buf.len();
    buf.resize(start + size, 0);
    let rc = gdal_sys::OGR_G_ExportToIsoWkb(
        g,
        gdal_sys::OGRwkbByteOrder::wkbNDR,
        buf[start..].as_mut_ptr(),
    );
    if !linear.is_null() {
        gdal_sys::OGR_G_DestroyGeometry(linear);
    }
    if rc != 0 {
        return Err("OGR cannot export the geometry as WKB".into());
    }
    super::wkb::geom_type(&buf[start..]).map_err(|e| {
        format!("{e}; arco handles points, lines, polygons, their multi forms and collections")
    })?;
    Ok(true)
}

/// Where read features go: owned [`Feature`]s, or columns
/// ([`TableBuilder`](super::table::TableBuilder)).
#[allow(unsafe_code)]
pub trait Rows: Send + Sized {
    /// What a finished reader yields.
    type Done: Send;
    /// An empty set for features with `fields`.
    fn with_fields(fields: &[Field]) -> Self;
    /// Features held.
    fn len(&self) -> usize;
    /// True when no feature is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends the feature `f`: its values in `fields` order and its
    /// geometry (ISO WKB, `None` when null).
    ///
    /// # Safety
    /// `f` must be a live OGR feature of the layer `fields` describe.
    unsafe fn push(&mut self, f: gdal_sys::OGRFeatureH, fields: &[Field], geometry: Option<&[u8]>);
    /// The features read.
    fn finish(self) -> Self::Done;
    /// Parts read side by side, joined in order.
    fn concat(parts: Vec<Self::Done>) -> Self::Done;
    /// Features in a finished set.
    fn count(done: &Self::Done) -> usize;
}

impl Rows for Vec<Feature> {
    type Done = Vec<Feature>;
    fn with_fields(_: &[Field]) -> Self {
        Vec::new()
    }
    fn len(&self) -> usize {
        self.len()
    }
    #[allow(unsafe_code)]
    unsafe fn push(&mut self, f: gdal_sys::OGRFeatureH, fields: &[Field], geometry: Option<&[u8]>) {
        let values = fields
            .iter()
            .enumerate()
            .map(|(i, field)| read_value(f, i as c_int, field.kind))
            .collect();
        self.push(Feature {
            geometry: geometry.map(<[u8]>::to_vec),
            values,
        });
    }
    fn finish(self) -> Self {
        self
    }
    fn concat(parts: Vec<Self>) -> Self {
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            out.extend(p);
        }
        out
    }
    fn count(done: &Self) -> usize {
        done.len()
    }
}

/// True when field `i` of `f` holds a value.
#[allow(unsafe_code)]
pub(crate) unsafe fn is_set(f: gdal_sys::OGRFeatureH, i: c_int) -> bool {
    gdal_sys::OGR_F_IsFieldSetAndNotNull(f, i) != 0
}

/// Field `i` of `f` as text, borrowed from the feature.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_str<'a>(f: gdal_sys::OGRFeatureH, i: c_int) -> std::borrow::Cow<'a, str> {
    let p = gdal_sys::OGR_F_GetFieldAsString(f, i);
    if p.is_null() {
        std::borrow::Cow::Borrowed("")
    } else {
        CStr::from_ptr(p).to_string_lossy()
    }
}

/// Field `i` of `f` as days since 1970-01-01 (`date_only`) or as UTC
/// milliseconds since the epoch; `None` when OGR cannot read it as a date.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_time(f: gdal_sys::OGRFeatureH, i: c_int, date_only: bool) -> Option<i64> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut tz) = (0, 0, 0, 0, 0, 0);
    let mut s: f32 = 0.0;
    let ok = gdal_sys::OGR_F_GetFieldAsDateTimeEx(
        f,
        i,
        &raw mut y,
        &raw mut mo,
        &raw mut d,
        &raw mut h,
        &raw mut mi,
        &raw mut s,
        &raw mut tz,
    );
    if ok == 0 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y, mo as u32, d as u32)?;
    let days = (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days();
    if date_only {
        return Some(days);
    }
    let ms_of_day =
        i64::from(h) * 3_600_000 + i64::from(mi) * 60_000 + (f64::from(s) * 1000.0).round() as i64;
    // OGR's TZFlag: 100 is UTC, each step of 1 is 15 minutes from it; 0
    // (unknown) and 1 (local) are taken as UTC.
    let offset_ms = if tz > 1 {
        i64::from(tz - 100) * 15 * 60_000
    } else {
        0
    };
    Some(days * 86_400_000 + ms_of_day - offset_ms)
}

/// Field `i` of `f` as a list of 32-bit integers, borrowed from the feature.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_int_list<'a>(f: gdal_sys::OGRFeatureH, i: c_int) -> &'a [c_int] {
    let mut n = 0;
    slice(gdal_sys::OGR_F_GetFieldAsIntegerList(f, i, &raw mut n), n)
}

/// Field `i` of `f` as a list of 64-bit integers, borrowed from the feature.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_int64_list<'a>(f: gdal_sys::OGRFeatureH, i: c_int) -> &'a [i64] {
    let mut n = 0;
    slice(gdal_sys::OGR_F_GetFieldAsInteger64List(f, i, &raw mut n), n)
}

/// Field `i` of `f` as a list of doubles, borrowed from the feature.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_double_list<'a>(f: gdal_sys::OGRFeatureH, i: c_int) -> &'a [f64] {
    let mut n = 0;
    slice(gdal_sys::OGR_F_GetFieldAsDoubleList(f, i, &raw mut n), n)
}

/// Field `i` of `f` as a list of strings.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_string_list<'a>(
    f: gdal_sys::OGRFeatureH,
    i: c_int,
) -> Vec<std::borrow::Cow<'a, str>> {
    let p = gdal_sys::OGR_F_GetFieldAsStringList(f, i);
    let mut items = Vec::new();
    if !p.is_null() {
        let mut k = 0;
        while !(*p.add(k)).is_null() {
            items.push(CStr::from_ptr(*p.add(k)).to_string_lossy());
            k += 1;
        }
    }
    items
}

/// Field `i` of `f` as bytes, borrowed from the feature.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_binary<'a>(f: gdal_sys::OGRFeatureH, i: c_int) -> &'a [u8] {
    let mut n = 0;
    slice(gdal_sys::OGR_F_GetFieldAsBinary(f, i, &raw mut n), n)
}

#[allow(unsafe_code)]
unsafe fn read_value(f: gdal_sys::OGRFeatureH, i: c_int, kind: FieldKind) -> Value {
    if !is_set(f, i) {
        return Value::Null;
    }
    match kind {
        FieldKind::Int32 => Value::Int(i64::from(gdal_sys::OGR_F_GetFieldAsInteger(f, i))),
        FieldKind::Int64 => Value::Int(gdal_sys::OGR_F_GetFieldAsInteger64(f, i)),
        FieldKind::Float64 => Value::Float(gdal_sys::OGR_F_GetFieldAsDouble(f, i)),
        FieldKind::Bool => Value::Bool(gdal_sys::OGR_F_GetFieldAsInteger(f, i) != 0),
        FieldKind::String => Value::String(read_str(f, i).into_owned()),
        FieldKind::Date => read_time(f, i, true).map_or(Value::Null, |d| Value::Date(d as i32)),
        FieldKind::DateTime => read_time(f, i, false).map_or(Value::Null, Value::DateTime),
        FieldKind::Int32List => Value::List(
            read_int_list(f, i)
                .iter()
                .map(|&v| Value::Int(i64::from(v)))
                .collect(),
        ),
        FieldKind::Int64List => Value::List(
            read_int64_list(f, i)
                .iter()
                .map(|&v| Value::Int(v))
                .collect(),
        ),
        FieldKind::Float64List => Value::List(
            read_double_list(f, i)
                .iter()
                .map(|&v| Value::Float(v))
                .collect(),
        ),
        FieldKind::StringList => Value::List(
            read_string_list(f, i)
                .into_iter()
                .map(|s| Value::String(s.into_owned()))
                .collect(),
        ),
        FieldKind::Binary => Value::Binary(read_binary(f, i).to_vec()),
    }
}

/// A slice over a C array that may be null when empty.
#[allow(unsafe_code)]
unsafe fn slice<'a, T>(p: *const T, n: c_int) -> &'a [T] {
    if p.is_null() || n <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, n as usize)
    }
}
