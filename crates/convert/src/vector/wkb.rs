//! A small ISO WKB reader and writer: what the vector writers need to know
//! about a geometry (its type, dimensions, bounding box) and the two
//! rewrites they do (dropping M for GeoParquet, flattening for FlatGeobuf),
//! without a geometry library in between.
//!
//! OGR exports ISO WKB (type codes 1000/2000/3000 + base for Z/M/ZM); the
//! reader also accepts EWKB flags and big-endian input.

/// Geometry kinds of the simple-features model arco handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Point.
    Point,
    /// LineString.
    LineString,
    /// Polygon.
    Polygon,
    /// MultiPoint.
    MultiPoint,
    /// MultiLineString.
    MultiLineString,
    /// MultiPolygon.
    MultiPolygon,
    /// GeometryCollection.
    GeometryCollection,
}

impl Kind {
    /// The kind of an ISO WKB base type code (1-7).
    pub fn from_code(code: u32) -> Option<Kind> {
        Some(match code {
            1 => Kind::Point,
            2 => Kind::LineString,
            3 => Kind::Polygon,
            4 => Kind::MultiPoint,
            5 => Kind::MultiLineString,
            6 => Kind::MultiPolygon,
            7 => Kind::GeometryCollection,
            _ => return None,
        })
    }

    /// The ISO WKB base code.
    pub fn code(self) -> u32 {
        match self {
            Kind::Point => 1,
            Kind::LineString => 2,
            Kind::Polygon => 3,
            Kind::MultiPoint => 4,
            Kind::MultiLineString => 5,
            Kind::MultiPolygon => 6,
            Kind::GeometryCollection => 7,
        }
    }

    /// The name GeoParquet and STAC use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Point => "Point",
            Kind::LineString => "LineString",
            Kind::Polygon => "Polygon",
            Kind::MultiPoint => "MultiPoint",
            Kind::MultiLineString => "MultiLineString",
            Kind::MultiPolygon => "MultiPolygon",
            Kind::GeometryCollection => "GeometryCollection",
        }
    }

    /// The multi kind a single kind promotes to (itself for multi kinds).
    #[must_use]
    pub fn multi(self) -> Kind {
        match self {
            Kind::Point => Kind::MultiPoint,
            Kind::LineString => Kind::MultiLineString,
            Kind::Polygon => Kind::MultiPolygon,
            k => k,
        }
    }
}

/// Type and dimensions of one geometry, from its WKB header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GeomType {
    /// The kind.
    pub kind: Kind,
    /// Has Z.
    pub z: bool,
    /// Has M.
    pub m: bool,
}

impl GeomType {
    /// `Point`, `Point Z`, `Point M`, `Point ZM`.
    pub fn label(self) -> String {
        let suffix = match (self.z, self.m) {
            (false, false) => "",
            (true, false) => " Z",
            (false, true) => " M",
            (true, true) => " ZM",
        };
        format!("{}{suffix}", self.kind.name())
    }
}

/// Why a WKB blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WkbError(pub String);

impl std::fmt::Display for WkbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad WKB: {}", self.0)
    }
}

/// A decoded geometry: coordinates kept flat, `stride` values per vertex
/// (x, y, then z and/or m).
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Type and dimensions.
    pub ty: GeomType,
    /// The coordinates or parts.
    pub body: Body,
}

/// The payload of a [`Geometry`].
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Point (zero or one vertex) and LineString vertices.
    Coords(Vec<f64>),
    /// Polygon rings.
    Rings(Vec<Vec<f64>>),
    /// Members of a multi geometry or a collection.
    Parts(Vec<Geometry>),
}

impl Geometry {
    /// Values per vertex.
    pub fn stride(&self) -> usize {
        2 + usize::from(self.ty.z) + usize::from(self.ty.m)
    }

    /// True when the geometry has no vertex at all.
    pub fn is_empty(&self) -> bool {
        match &self.body {
            Body::Coords(c) => c.is_empty(),
            Body::Rings(r) => r.iter().all(Vec::is_empty),
            Body::Parts(p) => p.iter().all(Geometry::is_empty),
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos + N;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| WkbError(format!("truncated at byte {}", self.pos)))?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, WkbError> {
        Ok(self.take::<1>()?[0])
    }

    fn u32(&mut self, le: bool) -> Result<u32, WkbError> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, WkbError> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    /// A count, checked against the bytes left so a corrupt count cannot
    /// ask for a huge allocation.
    fn count(&mut self, le: bool, min_item: usize) -> Result<usize, WkbError> {
        let n = self.u32(le)? as usize;
        if n.saturating_mul(min_item) > self.buf.len() - self.pos {
            return Err(WkbError(format!("count {n} runs past the end")));
        }
        Ok(n)
    }
}

fn parse_type(raw: u32) -> Result<GeomType, WkbError> {
    // EWKB flags, then ISO thousands.
    let ewkb_z = raw & 0x8000_0000 != 0;
    let ewkb_m = raw & 0x4000_0000 != 0;
    let code = raw & 0x0FFF_FFFF;
    let (base, z, m) = match code / 1000 {
        0 => (code, ewkb_z, ewkb_m),
        1 => (code % 1000, true, false),
        2 => (code % 1000, false, true),
        3 => (code % 1000, true, true),
        _ => return Err(WkbError(format!("unknown geometry type code {raw}"))),
    };
    let kind = Kind::from_code(base).ok_or_else(|| {
        WkbError(format!(
            "geometry type code {raw} is not a point, line, polygon, multi or collection"
        ))
    })?;
    Ok(GeomType { kind, z, m })
}

/// The type of a WKB geometry, from its first five bytes.
pub fn geom_type(wkb: &[u8]) -> Result<GeomType, WkbError> {
    let mut r = Reader { buf: wkb, pos: 0 };
    let le = r.u8()? == 1;
    parse_type(r.u32(le)?)
}

/// Decodes a WKB geometry.
pub fn decode(wkb: &[u8]) -> Result<Geometry, WkbError> {
    let mut r = Reader { buf: wkb, pos: 0 };
    decode_one(&mut r, 0)
}

fn read_coords(r: &mut Reader<'_>, le: bool, stride: usize) -> Result<Vec<f64>, WkbError> {
    let n = r.count(le, 8 * stride)?;
    let mut v = Vec::with_capacity(n * stride);
    for _ in 0..n * stride {
        v.push(r.f64(le)?);
    }
    Ok(v)
}

/// The header of one geometry: byte order, type, and values per coordinate.
fn read_header(r: &mut Reader<'_>, depth: usize) -> Result<(bool, GeomType, usize), WkbError> {
    if depth > 32 {
        return Err(WkbError("collections nested too deep".into()));
    }
    let le = r.u8()? == 1;
    let raw = r.u32(le)?;
    let ty = parse_type(raw)?;
    // EWKB may carry an SRID after the type.
    if raw & 0x2000_0000 != 0 {
        r.u32(le)?;
    }
    Ok((le, ty, 2 + usize::from(ty.z) + usize::from(ty.m)))
}

fn decode_one(r: &mut Reader<'_>, depth: usize) -> Result<Geometry, WkbError> {
    let (le, ty, stride) = read_header(r, depth)?;
    let body = match ty.kind {
        Kind::Point => {
            let mut c = Vec::with_capacity(stride);
            for _ in 0..stride {
                c.push(r.f64(le)?);
            }
            // ISO WKB has no empty point: writers use NaN coordinates.
            if c[0].is_nan() && c[1].is_nan() {
                c.clear();
            }
            Body::Coords(c)
        }
        Kind::LineString => Body::Coords(read_coords(r, le, stride)?),
        Kind::Polygon => {
            let n = r.count(le, 4)?;
            let mut rings = Vec::with_capacity(n);
            for _ in 0..n {
                rings.push(read_coords(r, le, stride)?);
            }
            Body::Rings(rings)
        }
        _ => {
            let n = r.count(le, 5)?;
            let mut parts = Vec::with_capacity(n);
            for _ in 0..n {
                parts.push(decode_one(r, depth + 1)?);
            }
            Body::Parts(parts)
        }
    };
    Ok(Geometry { ty, body })
}

/// Encodes a geometry as little-endian ISO WKB, keeping only the
/// dimensions asked for (a dimension the geometry lacks is not invented).
pub fn encode(g: &Geometry, keep_z: bool, keep_m: bool, out: &mut Vec<u8>) {
    let z = g.ty.z && keep_z;
    let m = g.ty.m && keep_m;
    let dims = match (z, m) {
        (false, false) => 0,
        (true, false) => 1000,
        (false, true) => 2000,
        (true, true) => 3000,
    };
    out.push(1);
    out.extend_from_slice(&(g.ty.kind.code() + dims).to_le_bytes());
    let stride = g.stride();
    let put = |out: &mut Vec<u8>, coords: &[f64]| {
        for v in coords.chunks_exact(stride) {
            out.extend_from_slice(&v[0].to_le_bytes());
            out.extend_from_slice(&v[1].to_le_bytes());
            if z {
                out.extend_from_slice(&v[2].to_le_bytes());
            }
            if m {
                out.extend_from_slice(&v[if g.ty.z { 3 } else { 2 }].to_le_bytes());
            }
        }
    };
    match &g.body {
        Body::Coords(c) if g.ty.kind == Kind::Point => {
            if c.is_empty() {
                let n = 2 + usize::from(z) + usize::from(m);
                for _ in 0..n {
                    out.extend_from_slice(&f64::NAN.to_le_bytes());
                }
            } else {
                put(out, c);
            }
        }
        Body::Coords(c) => {
            out.extend_from_slice(&((c.len() / stride) as u32).to_le_bytes());
            put(out, c);
        }
        Body::Rings(rings) => {
            out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
            for ring in rings {
                out.extend_from_slice(&((ring.len() / stride) as u32).to_le_bytes());
                put(out, ring);
            }
        }
        Body::Parts(parts) => {
            out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
            for p in parts {
                encode(p, keep_z, keep_m, out);
            }
        }
    }
}

/// The 2D bounding box `[xmin, ymin, xmax, ymax]` of a WKB geometry, read
/// without allocating; `None` for an empty geometry.
pub fn bbox(wkb: &[u8]) -> Result<Option<[f64; 4]>, WkbError> {
    let mut r = Reader { buf: wkb, pos: 0 };
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    bbox_one(&mut r, &mut b, 0)?;
    Ok((b[0] <= b[2] && b[1] <= b[3]).then_some(b))
}

fn bbox_coords(
    r: &mut Reader<'_>,
    le: bool,
    stride: usize,
    n: usize,
    b: &mut [f64; 4],
) -> Result<(), WkbError> {
    for _ in 0..n {
        let x = r.f64(le)?;
        let y = r.f64(le)?;
        for _ in 2..stride {
            r.f64(le)?;
        }
        if !x.is_nan() && !y.is_nan() {
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
    }
    Ok(())
}

fn bbox_one(r: &mut Reader<'_>, b: &mut [f64; 4], depth: usize) -> Result<(), WkbError> {
    let (le, ty, stride) = read_header(r, depth)?;
    match ty.kind {
        Kind::Point => bbox_coords(r, le, stride, 1, b),
        Kind::LineString => {
            let n = r.count(le, 8 * stride)?;
            bbox_coords(r, le, stride, n, b)
        }
        Kind::Polygon => {
            let rings = r.count(le, 4)?;
            for _ in 0..rings {
                let n = r.count(le, 8 * stride)?;
                bbox_coords(r, le, stride, n, b)?;
            }
            Ok(())
        }
        _ => {
            let parts = r.count(le, 5)?;
            for _ in 0..parts {
                bbox_one(r, b, depth + 1)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point_z() -> Vec<u8> {
        let mut v = vec![1];
        v.extend_from_slice(&1001u32.to_le_bytes());
        for x in [1.0f64, 2.0, 3.0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    #[test]
    fn reads_type_and_bbox_of_a_3d_point() {
        let w = point_z();
        assert_eq!(
            geom_type(&w).unwrap(),
            GeomType {
                kind: Kind::Point,
                z: true,
                m: false
            }
        );
        assert_eq!(bbox(&w).unwrap(), Some([1.0, 2.0, 1.0, 2.0]));
        assert_eq!(geom_type(&w).unwrap().label(), "Point Z");
    }

    #[test]
    fn round_trips_and_drops_m() {
        // MultiLineString ZM with two lines, big endian.
        let mut v = vec![0u8];
        v.extend_from_slice(&3005u32.to_be_bytes());
        v.extend_from_slice(&2u32.to_be_bytes());
        for line in [[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [8.0; 8]] {
            v.push(0);
            v.extend_from_slice(&3002u32.to_be_bytes());
            v.extend_from_slice(&2u32.to_be_bytes());
            for x in line {
                v.extend_from_slice(&x.to_be_bytes());
            }
        }
        let g = decode(&v).unwrap();
        assert_eq!(g.ty.label(), "MultiLineString ZM");
        let mut le = Vec::new();
        encode(&g, true, true, &mut le);
        assert_eq!(decode(&le).unwrap(), g);
        let mut no_m = Vec::new();
        encode(&g, true, false, &mut no_m);
        let g2 = decode(&no_m).unwrap();
        assert_eq!(g2.ty.label(), "MultiLineString Z");
        let Body::Parts(p) = &g2.body else { panic!() };
        assert_eq!(p[0].body, Body::Coords(vec![0.0, 1.0, 2.0, 4.0, 5.0, 6.0]));
        assert_eq!(bbox(&v).unwrap(), Some([0.0, 1.0, 8.0, 8.0]));
    }

    #[test]
    fn empty_point_and_empty_polygon_have_no_bbox() {
        let mut v = vec![1];
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&f64::NAN.to_le_bytes());
        v.extend_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(bbox(&v).unwrap(), None);
        assert!(decode(&v).unwrap().is_empty());
        let mut p = vec![1];
        p.extend_from_slice(&3u32.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(bbox(&p).unwrap(), None);
    }

    #[test]
    fn truncated_or_absurd_input_is_an_error_not_a_panic() {
        let w = point_z();
        assert!(decode(&w[..10]).is_err());
        let mut v = vec![1];
        v.extend_from_slice(&2u32.to_le_bytes());
        v.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&v).is_err());
        assert!(bbox(&v).is_err());
        assert!(geom_type(&[1, 99, 0, 0, 0]).is_err());
    }
}
