//! Quality masking: samples that a QA band marks as not clear, that equal the
//! nodata value or that fall outside the valid range become NaN.

use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::{Error, Result};

/// Which QA values count as clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QaRule {
    /// Clear where the QA value lies in one of the ranges.
    Values(Vec<RangeInclusive<i64>>),
    /// Clear where no QA value lies in any of the ranges.
    NotValues(Vec<RangeInclusive<i64>>),
    /// Clear where all bits of `mask` are 0.
    BitsClear {
        /// Bits that must be 0.
        mask: u64,
    },
    /// Clear where `qa & mask == value`.
    BitsEqual {
        /// Bits looked at.
        mask: u64,
        /// Value they must have.
        value: u64,
    },
}

impl QaRule {
    /// GLAD ARD (Landsat ARD2): values 1, 2, 5, 6 and 11-17 are clear.
    pub fn glad_ard() -> Self {
        Self::Values(vec![1..=1, 2..=2, 5..=5, 6..=6, 11..=17])
    }

    /// Binary cloud mask: 0 is clear (1 cloud, 255 nodata are masked).
    pub fn cmask() -> Self {
        Self::Values(vec![0..=0])
    }

    /// MODIS pixel reliability: 0 (good) and 1 (marginal) are clear.
    pub fn modis_reliability() -> Self {
        Self::Values(vec![0..=1])
    }

    /// Whether a QA value is clear.
    pub fn is_clear(&self, q: i64) -> bool {
        match self {
            Self::Values(r) => r.iter().any(|r| r.contains(&q)),
            Self::NotValues(r) => !r.iter().any(|r| r.contains(&q)),
            Self::BitsClear { mask } => (q as u64) & mask == 0,
            Self::BitsEqual { mask, value } => (q as u64) & mask == *value,
        }
    }
}

const RULE_HINT: &str = "use a preset (glad_ard, cmask, modis_reliability), values:1,2,5,6,11-17, not:255, or bits:0b1100=0";

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(b) = s.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn parse_ranges(input: &str, list: &str) -> Result<Vec<RangeInclusive<i64>>> {
    let err = |hint: String| Error::ParseRule {
        input: input.to_string(),
        hint,
    };
    let mut out = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(err(
                "empty item in the value list: write values like 1,2,11-17".into(),
            ));
        }
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (a, b),
            None => (item, item),
        };
        let a: i64 = a
            .trim()
            .parse()
            .map_err(|_| err(format!("'{item}' is not a value or a range like 11-17")))?;
        let b: i64 = b
            .trim()
            .parse()
            .map_err(|_| err(format!("'{item}' is not a value or a range like 11-17")))?;
        if b < a {
            return Err(err(format!(
                "range '{item}' is reversed: write the low end first"
            )));
        }
        out.push(a..=b);
    }
    Ok(out)
}

impl FromStr for QaRule {
    type Err = Error;

    /// Parse `glad_ard` | `cmask` | `modis_reliability` | `values:LIST` |
    /// `not:LIST` | `bits:MASK[=VALUE]` (LIST: `1,2,5,6,11-17`; MASK and
    /// VALUE decimal, `0b...` or `0x...`; VALUE defaults to 0).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        match t.to_ascii_lowercase().replace('-', "_").as_str() {
            "glad_ard" | "glad" | "ard2" => return Ok(Self::glad_ard()),
            "cmask" => return Ok(Self::cmask()),
            "modis_reliability" | "modis" => return Ok(Self::modis_reliability()),
            _ => {}
        }
        let err = |hint: &str| Error::ParseRule {
            input: s.to_string(),
            hint: hint.to_string(),
        };
        let Some((kind, rest)) = t.split_once(':') else {
            return Err(err(RULE_HINT));
        };
        match kind.trim().to_ascii_lowercase().as_str() {
            "values" => Ok(Self::Values(parse_ranges(s, rest)?)),
            "not" => Ok(Self::NotValues(parse_ranges(s, rest)?)),
            "bits" => {
                let (m, v) = rest.split_once('=').unwrap_or((rest, "0"));
                let mask = parse_u64(m)
                    .ok_or_else(|| err("bit mask must be a number like 0b1100, 0xc or 12"))?;
                let value = parse_u64(v)
                    .ok_or_else(|| err("bit value must be a number like 0b0100, 0x4 or 4"))?;
                if value & !mask != 0 {
                    return Err(err(
                        "the value has bits outside the mask: set only bits of the mask",
                    ));
                }
                Ok(if value == 0 {
                    Self::BitsClear { mask }
                } else {
                    Self::BitsEqual { mask, value }
                })
            }
            _ => Err(err(RULE_HINT)),
        }
    }
}

const NO_QA_BAND: &str =
    "a qa rule is set but no qa band was given: pass the qa band or drop the rule";

/// A QA band sample type.
pub trait QaValue: Copy {
    /// The value as i64.
    fn to_i64(self) -> i64;
}

macro_rules! qa_value {
    ($($t:ty),*) => {$(
        impl QaValue for $t {
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}
qa_value!(u8, u16, u32, u64, i8, i16, i32, i64);

/// A masking setup: QA rule, nodata value and valid range, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mask {
    /// Rule for the QA band; `apply` then needs a QA band.
    pub rule: Option<QaRule>,
    /// Data value that means "no data" (compared in f32, the data type).
    pub nodata: Option<f64>,
    /// Inclusive valid range of the data values.
    pub valid_range: Option<(f64, f64)>,
}

impl Mask {
    /// Set to NaN every sample of `data` that is not clear in `qa`, equals
    /// `nodata` or lies outside `valid_range`. Returns how many samples were
    /// masked (samples that were NaN already are not counted).
    #[allow(clippy::float_cmp)] // nodata is an exact sentinel value
    #[inline]
    pub fn apply<Q: QaValue>(&self, data: &mut [f32], qa: Option<&[Q]>) -> Result<usize> {
        match (&self.rule, qa) {
            (Some(_), None) => return Err(Error::MaskSetup(NO_QA_BAND)),
            (None, Some(_)) => {
                return Err(Error::MaskSetup(
                    "a qa band was given without a qa rule: set a rule such as glad_ard",
                ))
            }
            (_, Some(q)) if q.len() != data.len() => {
                return Err(Error::LengthMismatch {
                    what: "qa band",
                    expected: data.len(),
                    got: q.len(),
                })
            }
            _ => {}
        }
        let values = self.values();
        let mut count = 0;
        for (i, v) in data.iter_mut().enumerate() {
            if v.is_nan() {
                continue;
            }
            let bad = values.rejects(*v)
                || match (&self.rule, qa) {
                    (Some(r), Some(q)) => !r.is_clear(q[i].to_i64()),
                    _ => false,
                };
            if bad {
                *v = f32::NAN;
                count += 1;
            }
        }
        Ok(count)
    }

    /// The mask as a test on one sample that compiles to lane compares, for
    /// data with no QA band (callers that mask while they copy). An error,
    /// as from [`Self::apply`] without a QA band, when a QA rule is set.
    pub fn value_test(&self) -> Result<ValueTest> {
        if self.rule.is_some() {
            return Err(Error::MaskSetup(NO_QA_BAND));
        }
        Ok(self.values())
    }

    /// The nodata and valid-range part of the mask.
    fn values(&self) -> ValueTest {
        let (lo, hi) = self
            .valid_range
            .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        ValueTest {
            // NaN equals nothing: no nodata, no match.
            #[allow(clippy::cast_possible_truncation)] // compared in f32, the data type
            nodata: self.nodata.map_or(f32::NAN, |nd| nd as f32),
            lo,
            hi,
        }
    }
}

/// See [`Mask::value_test`].
#[derive(Debug, Clone, Copy)]
pub struct ValueTest {
    nodata: f32,
    lo: f64,
    hi: f64,
}

impl ValueTest {
    /// True when `v` is nodata or outside the valid range (never for NaN).
    // Inlined into the caller's AVX2 copy (`arco_core::simd::wide`).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    #[allow(clippy::float_cmp)] // nodata is an exact sentinel value
    pub fn rejects(&self, v: f32) -> bool {
        let x = f64::from(v);
        // Bitwise, not short-circuit: no branches in the lanes.
        #[allow(clippy::needless_bitwise_bool)]
        {
            (v == self.nodata) | (x < self.lo) | (x > self.hi)
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point of these tests
mod tests {
    use super::*;

    #[test]
    fn the_value_test_rejects_what_apply_masks() {
        let values = [
            f32::NAN,
            -9999.0,
            -1.0,
            0.0,
            0.5,
            1.0,
            1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-8,
        ];
        let masks = [
            Mask::default(),
            Mask {
                nodata: Some(-9999.0),
                ..Mask::default()
            },
            Mask {
                valid_range: Some((0.0, 1.0)),
                ..Mask::default()
            },
            Mask {
                nodata: Some(0.5),
                valid_range: Some((-1.0, 1.0)),
                ..Mask::default()
            },
        ];
        for mask in masks {
            let test = mask.value_test().unwrap();
            let mut applied = values;
            let masked = mask.apply::<i64>(&mut applied, None).unwrap();
            let rejected: Vec<bool> = values.iter().map(|&v| test.rejects(v)).collect();
            assert_eq!(rejected.iter().filter(|&&r| r).count(), masked, "{mask:?}");
            for ((v, a), r) in values.iter().zip(applied).zip(rejected) {
                assert_eq!(a.is_nan(), v.is_nan() || r, "{mask:?}: {v}");
            }
        }
        let ruled = Mask {
            rule: Some(QaRule::cmask()),
            ..Mask::default()
        };
        assert!(matches!(ruled.value_test(), Err(Error::MaskSetup(_))));
    }

    #[test]
    fn presets() {
        let g = QaRule::glad_ard();
        let clear: Vec<i64> = (0..20).filter(|&q| g.is_clear(q)).collect();
        assert_eq!(clear, [1, 2, 5, 6, 11, 12, 13, 14, 15, 16, 17]);
        assert!(QaRule::cmask().is_clear(0));
        assert!(!QaRule::cmask().is_clear(1) && !QaRule::cmask().is_clear(255));
        let m = QaRule::modis_reliability();
        assert!(m.is_clear(0) && m.is_clear(1) && !m.is_clear(2) && !m.is_clear(-1));
    }

    #[test]
    fn parse() {
        assert_eq!(
            "values:1,2,5,6,11-17".parse::<QaRule>().unwrap(),
            QaRule::glad_ard()
        );
        assert_eq!("GLAD-ARD".parse::<QaRule>().unwrap(), QaRule::glad_ard());
        assert_eq!("cmask".parse::<QaRule>().unwrap(), QaRule::cmask());
        assert_eq!(
            "bits:0b1100=0".parse::<QaRule>().unwrap(),
            QaRule::BitsClear { mask: 12 }
        );
        assert_eq!(
            "bits:0xc=0b0100".parse::<QaRule>().unwrap(),
            QaRule::BitsEqual { mask: 12, value: 4 }
        );
        assert_eq!(
            "not:255".parse::<QaRule>().unwrap(),
            QaRule::NotValues(vec![255..=255])
        );
        for bad in [
            "values:",
            "values:3-1",
            "bits:0b12",
            "bits:4=8",
            "foo",
            "values:a",
        ] {
            let e = bad.parse::<QaRule>().unwrap_err().to_string();
            assert!(e.starts_with("cannot parse qa rule"), "{e}");
        }
        let r = QaRule::BitsEqual { mask: 12, value: 4 };
        assert!(r.is_clear(0b0100) && r.is_clear(0b0111) && !r.is_clear(0b1100) && !r.is_clear(0));
    }

    #[test]
    fn apply_counts() {
        let mut d = [0.1f32, 0.2, -9999.0, 0.4, f32::NAN, 1.5];
        let qa: [u16; 6] = [1, 3, 1, 11, 1, 1];
        let m = Mask {
            rule: Some(QaRule::glad_ard()),
            nodata: Some(-9999.0),
            valid_range: Some((0.0, 1.0)),
        };
        assert_eq!(m.apply(&mut d, Some(&qa[..])).unwrap(), 3);
        assert_eq!(d[0], 0.1);
        assert!(d[1].is_nan() && d[2].is_nan() && d[5].is_nan());
        assert_eq!(d[3], 0.4);
        assert!(m.apply::<u16>(&mut d, None).is_err());
        assert!(m.apply(&mut d, Some(&qa[..3])).is_err());
        let plain = Mask {
            nodata: Some(0.4),
            ..Mask::default()
        };
        assert_eq!(plain.apply::<u8>(&mut d, None).unwrap(), 1);
    }
}
