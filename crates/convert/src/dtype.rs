//! Pixel data types and the `Sample` trait that lets one generic code path
//! serve every type.

use gdal::raster::{GdalDataType, GdalType};
use std::fmt;
use std::str::FromStr;

/// Data types arco reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// Unsigned 8-bit.
    U8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl DType {
    /// All types, for help texts.
    pub const ALL: [DType; 7] = [
        DType::U8,
        DType::U16,
        DType::I16,
        DType::U32,
        DType::I32,
        DType::F32,
        DType::F64,
    ];

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::U16 | DType::I16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// True for floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// The lowercase name used on the command line, in Zarr and in STAC.
    pub fn name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::I16 => "int16",
            DType::U32 => "uint32",
            DType::I32 => "int32",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Maps a GDAL band type, or `None` when arco does not handle it.
    pub fn from_gdal(t: GdalDataType) -> Option<Self> {
        Some(match t {
            GdalDataType::UInt8 => DType::U8,
            GdalDataType::UInt16 => DType::U16,
            GdalDataType::Int16 => DType::I16,
            GdalDataType::UInt32 => DType::U32,
            GdalDataType::Int32 => DType::I32,
            GdalDataType::Float32 => DType::F32,
            GdalDataType::Float64 => DType::F64,
            _ => return None,
        })
    }

    /// TIFF SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    pub fn tiff_sample_format(self) -> u16 {
        match self {
            DType::U8 | DType::U16 | DType::U32 => 1,
            DType::I16 | DType::I32 => 2,
            DType::F32 | DType::F64 => 3,
        }
    }

    /// Smallest and largest value of the type.
    pub fn range(self) -> (f64, f64) {
        match self {
            DType::U8 => (0.0, 255.0),
            DType::U16 => (0.0, 65535.0),
            DType::I16 => (-32768.0, 32767.0),
            DType::U32 => (0.0, 4_294_967_295.0),
            DType::I32 => (-2_147_483_648.0, 2_147_483_647.0),
            DType::F32 => (-f64::from(f32::MAX), f64::from(f32::MAX)),
            DType::F64 => (f64::MIN, f64::MAX),
        }
    }

    /// Whether `v` is representable in this type (nodata values must be).
    pub fn holds(self, v: f64) -> bool {
        let (lo, hi) = self.range();
        if self.is_float() {
            return v.is_nan() || v.is_infinite() || (lo..=hi).contains(&v);
        }
        v.fract() == 0.0 && v >= lo && v <= hi
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = match s.to_ascii_lowercase().as_str() {
            "uint8" | "byte" | "u8" => DType::U8,
            "uint16" | "u16" => DType::U16,
            "int16" | "i16" => DType::I16,
            "uint32" | "u32" => DType::U32,
            "int32" | "i32" => DType::I32,
            "float32" | "f32" => DType::F32,
            "float64" | "f64" => DType::F64,
            _ => {
                let names: Vec<&str> = DType::ALL.iter().map(|t| t.name()).collect();
                return Err(format!(
                    "unknown data type '{s}' (use one of {})",
                    names.join(", ")
                ));
            }
        };
        Ok(t)
    }
}

/// A pixel value type: conversions for resampling; `Pod` so encoders can
/// view samples as bytes.
pub trait Sample:
    Copy + Default + Send + Sync + PartialEq + GdalType + bytemuck::Pod + 'static
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Widens to f64 (exact for every supported type but f64 itself).
    fn to_f64(self) -> f64;
    /// Narrows from f64: rounds to nearest and saturates for integers.
    fn from_f64(v: f64) -> Self;
    /// True for a float NaN.
    #[inline]
    fn is_nan(self) -> bool {
        false
    }
    /// Mean of up to four values, rounded half away from zero for integers
    /// (as `f64::round` would), in integer arithmetic where exact.
    fn mean(vals: &[Self]) -> Self;
    /// Mean of four values, rounded like [`Sample::mean`]; the overview hot path.
    #[inline]
    fn mean4(a: Self, b: Self, c: Self, d: Self) -> Self {
        Self::mean(&[a, b, c, d])
    }
}

/// `s / N` rounded half away from zero, exactly.
#[inline]
fn div_round<const N: i64>(s: i64) -> i64 {
    if s >= 0 {
        (2 * s + N) / (2 * N)
    } else {
        -((-2 * s + N) / (2 * N))
    }
}

macro_rules! int_sample {
    ($t:ty, $d:expr, unsigned) => {
        int_sample!($t, $d, {
            #[inline]
            fn mean4(a: Self, b: Self, c: Self, d: Self) -> Self {
                // Non-negative: half away from zero is half up, and the sum
                // of four 16-bit values fits u32.
                ((u32::from(a) + u32::from(b) + u32::from(c) + u32::from(d) + 2) >> 2) as $t
            }
        });
    };
    ($t:ty, $d:expr) => {
        int_sample!($t, $d, {});
    };
    ($t:ty, $d:expr, { $($extra:tt)* }) => {
        impl Sample for $t {
            const DTYPE: DType = $d;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                // `as` saturates and maps NaN to 0, which is what we want.
                v.round() as $t
            }
            fn mean(vals: &[Self]) -> Self {
                let s: i64 = vals.iter().map(|&v| v as i64).sum();
                // One arm per count, so each division is by a constant
                // (a multiply and shift) rather than a 64-bit divide.
                let q = match vals.len() {
                    4 => div_round::<4>(s),
                    3 => div_round::<3>(s),
                    2 => div_round::<2>(s),
                    _ => s,
                };
                q as $t
            }
            $($extra)*
        }
    };
}

int_sample!(u8, DType::U8, unsigned);
int_sample!(u16, DType::U16, unsigned);
int_sample!(i16, DType::I16);
int_sample!(u32, DType::U32);
int_sample!(i32, DType::I32);

impl Sample for f32 {
    const DTYPE: DType = DType::F32;
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    fn mean(vals: &[Self]) -> Self {
        (vals.iter().map(|&v| f64::from(v)).sum::<f64>() / vals.len() as f64) as f32
    }
}

impl Sample for f64 {
    const DTYPE: DType = DType::F64;
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    fn mean(vals: &[Self]) -> Self {
        vals.iter().sum::<f64>() / vals.len() as f64
    }
}

/// Calls a generic function with the `Sample` type matching a [`DType`].
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $f:ident :: <T> ( $($arg:expr),* $(,)? )) => {
        match $dtype {
            $crate::DType::U8 => $f::<u8>($($arg),*),
            $crate::DType::U16 => $f::<u16>($($arg),*),
            $crate::DType::I16 => $f::<i16>($($arg),*),
            $crate::DType::U32 => $f::<u32>($($arg),*),
            $crate::DType::I32 => $f::<i32>($($arg),*),
            $crate::DType::F32 => $f::<f32>($($arg),*),
            $crate::DType::F64 => $f::<f64>($($arg),*),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_narrowing_rounds_and_saturates() {
        assert_eq!(u8::from_f64(254.5), 255);
        assert_eq!(u8::from_f64(300.0), 255);
        assert_eq!(u8::from_f64(-3.0), 0);
        assert_eq!(i16::from_f64(-2.5), -3);
        assert_eq!(u16::from_f64(f64::NAN), 0);
    }

    #[test]
    fn integer_mean_matches_float_rounding() {
        for vals in [
            [1i16, 2, 2, 2],
            [-1, -2, -2, -2],
            [-3, -2, 0, 0],
            [7, 8, 0, 0],
        ] {
            for n in 1..=4 {
                let v = &vals[..n];
                let want = (v.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64).round();
                assert_eq!(i16::mean(v), want as i16, "{v:?}");
            }
        }
        assert_eq!(u16::mean(&[65535, 65535, 65534, 65535]), 65535);
        for q in [
            [1u16, 2, 2, 2],
            [0, 0, 1, 1],
            [0, 0, 0, 1],
            [65535, 65535, 65535, 65534],
        ] {
            assert_eq!(u16::mean4(q[0], q[1], q[2], q[3]), u16::mean(&q), "{q:?}");
            let b = q.map(|v| (v % 256) as u8);
            assert_eq!(u8::mean4(b[0], b[1], b[2], b[3]), u8::mean(&b), "{b:?}");
        }
        assert_eq!(u32::mean(&[u32::MAX; 4]), u32::MAX);
    }

    #[test]
    fn parse_names_and_reject_unknown() {
        assert_eq!("UInt16".parse::<DType>().unwrap(), DType::U16);
        assert_eq!("byte".parse::<DType>().unwrap(), DType::U8);
        let err = "int8".parse::<DType>().unwrap_err();
        assert!(err.contains("uint8, uint16"), "{err}");
    }

    #[test]
    fn holds_checks_range_and_integrality() {
        assert!(DType::U8.holds(255.0));
        assert!(!DType::U8.holds(256.0));
        assert!(!DType::I16.holds(1.5));
        assert!(DType::F32.holds(f64::NAN));
        assert!(!DType::U16.holds(f64::NAN));
    }
}
