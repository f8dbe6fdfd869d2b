//! Temporal aggregation: irregular acquisitions into regular frames of a
//! cadence (`16D`, `8D`, `1M`, `2M`, `1Y`), with a per-pixel statistic.
//!
//! Frames are aligned on the calendar: day cadences restart on 1 January
//! each year (the last frame of a year is shorter: 23 sixteen-day frames a
//! year, as MODIS and GLAD composites), month cadences start on months
//! `1, 1 + m, ...`, year cadences on 1 January.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::{Error, Result};

/// A regular cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every `d` days, restarting on 1 January.
    Days(u32),
    /// Every `m` months.
    Months(u32),
    /// Every `y` years.
    Years(u32),
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(d) => write!(f, "{d}D"),
            Self::Months(m) => write!(f, "{m}M"),
            Self::Years(y) => write!(f, "{y}Y"),
        }
    }
}

impl FromStr for Cadence {
    type Err = Error;

    /// Parse `<count><unit>` with unit `D`, `M` or `Y` (case-insensitive), e.g. `16D`, `2M`, `1Y`.
    fn from_str(s: &str) -> Result<Self> {
        let err = |hint| Error::ParseCadence {
            input: s.to_string(),
            hint,
        };
        let t = s.trim();
        let Some(unit) = t.chars().last() else {
            return Err(err("write a count and a unit, like 16D, 1M, 2M or 1Y"));
        };
        let count: u32 = t[..t.len() - unit.len_utf8()]
            .parse()
            .map_err(|_| err("write a count and a unit, like 16D, 1M, 2M or 1Y"))?;
        if count == 0 {
            return Err(err("the count must be at least 1"));
        }
        match unit.to_ascii_uppercase() {
            'D' if count <= 366 => Ok(Self::Days(count)),
            'D' => Err(err("a day cadence must be at most 366 days: use 1Y")),
            'M' => Ok(Self::Months(count)),
            'Y' => Ok(Self::Years(count)),
            _ => Err(err("the unit must be D (days), M (months) or Y (years)")),
        }
    }
}

/// One frame: dates `start <= d < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// First day.
    pub start: NaiveDate,
    /// First day after the frame.
    pub end: NaiveDate,
}

fn jan1(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).expect("1 january exists")
}

impl Cadence {
    /// Samples per year (the SWAG `season`): `2M` -> 6, `1M` -> 12, `16D` ->
    /// 23, `8D` -> 46, `1Y` -> 1. Errors when the count changes between
    /// years or the cadence is longer than a year.
    pub fn season(&self) -> Result<usize> {
        let fail = |hint| {
            Err(Error::CadenceSeason {
                cadence: self.to_string(),
                hint,
            })
        };
        match *self {
            Self::Days(d) => {
                let (a, b) = (365usize.div_ceil(d as usize), 366usize.div_ceil(d as usize));
                if a == b {
                    Ok(a)
                } else {
                    fail("leap years get one more frame: pick a day count that gives the same count in 365 and 366 days (8D, 16D)")
                }
            }
            Self::Months(m) if m > 0 && 12 % m == 0 => Ok((12 / m) as usize),
            Self::Months(_) => fail("use a month count that divides 12 (1M, 2M, 3M, 4M, 6M, 12M)"),
            Self::Years(1) => Ok(1),
            Self::Years(_) => fail("cadences longer than a year have no season: use 1Y"),
        }
    }

    /// The frame that holds `date`.
    pub fn frame_of(&self, date: NaiveDate) -> Frame {
        match *self {
            Self::Days(d) => {
                let year = date.year();
                let k = date.ordinal0() / d;
                let start = jan1(year) + Days::new(u64::from(k * d));
                let end = (start + Days::new(u64::from(d))).min(jan1(year + 1));
                Frame { start, end }
            }
            Self::Months(m) => {
                let m0 = date.month0() / m * m;
                let start =
                    NaiveDate::from_ymd_opt(date.year(), m0 + 1, 1).expect("first of month exists");
                Frame {
                    start,
                    end: start + Months::new(m),
                }
            }
            Self::Years(y) => {
                let year = date.year() - date.year().rem_euclid(y as i32);
                Frame {
                    start: jan1(year),
                    end: jan1(year + y as i32),
                }
            }
        }
    }

    /// The frames that cover `start..=end`, in order.
    pub fn frames(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<Frame>> {
        if end < start {
            return Err(Error::EmptyRange { start, end });
        }
        let mut out = vec![self.frame_of(start)];
        while let Some(last) = out.last() {
            if last.end > end {
                break;
            }
            let next = self.frame_of(last.end);
            out.push(next);
        }
        Ok(out)
    }
}

/// For each date, the index of the frame that holds it (None: outside).
/// `frames` must be sorted and not overlap (as [`Cadence::frames`] gives).
pub fn assign(frames: &[Frame], dates: &[NaiveDate]) -> Vec<Option<usize>> {
    dates
        .iter()
        .map(|d| {
            let i = frames.partition_point(|f| f.end <= *d);
            (i < frames.len() && frames[i].start <= *d).then_some(i)
        })
        .collect()
}

/// Group images by their rank within the year, as Landsat ARD2 does (23
/// sixteen-day images a year, 4 per bimonthly frame, the last frame takes
/// 3): image `i` goes to frame `(i / per_year) * ceil(per_year / per_frame) + (i % per_year) / per_frame`.
pub fn assign_by_rank(n_images: usize, per_year: usize, per_frame: usize) -> Vec<Option<usize>> {
    let per_year = per_year.max(1);
    let per_frame = per_frame.max(1);
    let frames_per_year = per_year.div_ceil(per_frame);
    (0..n_images)
        .map(|i| Some(i / per_year * frames_per_year + i % per_year / per_frame))
        .collect()
}

/// The per-pixel statistic of a frame over its clear (non-NaN) samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// Arithmetic mean.
    Mean,
    /// Median (mean of the two middle values for an even count).
    Median,
    /// Mean weighted by each image's clear-pixel fraction (Landsat ARD2).
    ClearWeightedMean,
}

/// Fraction of non-NaN samples of an image (0 for an empty image).
pub fn clear_fraction(image: &[f32]) -> f64 {
    if image.is_empty() {
        return 0.0;
    }
    image.iter().filter(|v| !v.is_nan()).count() as f64 / image.len() as f64
}

/// Aggregate time-major images (`images[i]` is one date, all of the same
/// pixel count) into `n_frames` frames; `frame_of[i]` says where image `i`
/// goes (None: dropped). Returns a pixel-major block (`out[p * n_frames +
/// f]`), ready for [`crate::SwagKernel::fill_block_f32`]. A frame with no
/// clear sample stays NaN. For [`Statistic::ClearWeightedMean`] the weights
/// are `weights[i]` when given (e.g. the whole scene's clear fraction when
/// `images` are tiles of it), else [`clear_fraction`] of each image.
pub fn aggregate(
    images: &[&[f32]],
    frame_of: &[Option<usize>],
    n_frames: usize,
    stat: Statistic,
    weights: Option<&[f64]>,
) -> Result<Vec<f32>> {
    if frame_of.len() != images.len() {
        return Err(Error::LengthMismatch {
            what: "frame assignment",
            expected: images.len(),
            got: frame_of.len(),
        });
    }
    if let Some(w) = weights {
        if w.len() != images.len() {
            return Err(Error::LengthMismatch {
                what: "image weights",
                expected: images.len(),
                got: w.len(),
            });
        }
    }
    let n_px = images.first().map_or(0, |i| i.len());
    for (i, im) in images.iter().enumerate() {
        if im.len() != n_px {
            return Err(Error::LengthMismatch {
                what: "image",
                expected: n_px,
                got: im.len(),
            });
        }
        if let Some(f) = frame_of[i] {
            if f >= n_frames {
                return Err(Error::FrameOutOfRange {
                    image: i,
                    frame: f,
                    n_frames,
                });
            }
        }
    }
    let mut out = vec![f32::NAN; n_px * n_frames];
    match stat {
        Statistic::Mean | Statistic::ClearWeightedMean => {
            let mut sum = vec![0.0f64; n_px * n_frames];
            let mut wsum = vec![0.0f64; n_px * n_frames];
            for (i, im) in images.iter().enumerate() {
                let Some(f) = frame_of[i] else { continue };
                let w = match stat {
                    Statistic::Mean => 1.0,
                    _ => weights.map_or_else(|| clear_fraction(im), |w| w[i]),
                };
                for (p, &v) in im.iter().enumerate() {
                    if !v.is_nan() {
                        sum[p * n_frames + f] += w * f64::from(v);
                        wsum[p * n_frames + f] += w;
                    }
                }
            }
            for ((o, s), w) in out.iter_mut().zip(sum).zip(wsum) {
                if w > 0.0 {
                    *o = (s / w) as f32;
                }
            }
        }
        Statistic::Median => {
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_frames];
            for (i, f) in frame_of.iter().enumerate() {
                if let Some(f) = f {
                    members[*f].push(i);
                }
            }
            let mut vals = Vec::new();
            for (f, idx) in members.iter().enumerate() {
                for p in 0..n_px {
                    vals.clear();
                    vals.extend(
                        idx.iter()
                            .map(|&i| images[i][p])
                            .filter(|v| !v.is_nan())
                            .map(f64::from),
                    );
                    if vals.is_empty() {
                        continue;
                    }
                    vals.sort_by(f64::total_cmp);
                    let k = vals.len();
                    let med = if k % 2 == 1 {
                        vals[k / 2]
                    } else {
                        0.5 * (vals[k / 2 - 1] + vals[k / 2])
                    };
                    out[p * n_frames + f] = med as f32;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point of these tests
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parse_and_season() {
        for (s, n) in [
            ("2M", 6),
            ("1M", 12),
            ("16D", 23),
            ("8d", 46),
            ("1Y", 1),
            ("3M", 4),
        ] {
            assert_eq!(s.parse::<Cadence>().unwrap().season().unwrap(), n, "{s}");
        }
        for bad in ["", "M", "0M", "5X", "400D", "1.5M"] {
            assert!(bad.parse::<Cadence>().is_err(), "{bad}");
        }
        for no in ["5M", "1D", "2Y"] {
            let e = no
                .parse::<Cadence>()
                .unwrap()
                .season()
                .unwrap_err()
                .to_string();
            assert!(e.contains("does not give a fixed number"), "{e}");
        }
    }

    #[test]
    fn frames_16d_and_2m() {
        let c: Cadence = "16D".parse().unwrap();
        let f = c.frames(d(2021, 1, 1), d(2021, 12, 31)).unwrap();
        assert_eq!(f.len(), 23);
        assert_eq!(
            f[1],
            Frame {
                start: d(2021, 1, 17),
                end: d(2021, 2, 2)
            }
        );
        assert_eq!(
            f[22],
            Frame {
                start: d(2021, 12, 19),
                end: d(2022, 1, 1)
            }
        );
        let c: Cadence = "2M".parse().unwrap();
        let f = c.frames(d(2020, 2, 10), d(2020, 7, 1)).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(
            f[0],
            Frame {
                start: d(2020, 1, 1),
                end: d(2020, 3, 1)
            }
        );
        assert_eq!(
            f[3],
            Frame {
                start: d(2020, 7, 1),
                end: d(2020, 9, 1)
            }
        );
        let a = assign(
            &f,
            &[
                d(2020, 1, 31),
                d(2020, 3, 1),
                d(2020, 8, 31),
                d(2021, 1, 1),
                d(2019, 12, 31),
            ],
        );
        assert_eq!(a, [Some(0), Some(1), Some(3), None, None]);
        assert!(c.frames(d(2020, 2, 1), d(2020, 1, 1)).is_err());
    }

    #[test]
    fn rank_grouping_ard2() {
        let a = assign_by_rank(46, 23, 4);
        let counts: Vec<usize> = (0..12)
            .map(|f| a.iter().filter(|x| **x == Some(f)).count())
            .collect();
        assert_eq!(counts, [4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 3]);
    }

    #[test]
    fn statistics_by_hand() {
        let nan = f32::NAN;
        // 4 images, 2 pixels; images 0-2 -> frame 0, image 3 -> frame 1.
        let i0 = [1.0f32, nan];
        let i1 = [2.0f32, 4.0];
        let i2 = [6.0f32, nan];
        let i3 = [nan, nan];
        let imgs: Vec<&[f32]> = vec![&i0, &i1, &i2, &i3];
        let fr = [Some(0), Some(0), Some(0), Some(1)];
        let m = aggregate(&imgs, &fr, 2, Statistic::Mean, None).unwrap();
        assert_eq!(m[0], 3.0);
        assert!(m[1].is_nan());
        assert_eq!(m[2], 4.0);
        assert!(m[3].is_nan());
        let md = aggregate(&imgs, &fr, 2, Statistic::Median, None).unwrap();
        assert_eq!(md[0], 2.0);
        assert_eq!(md[2], 4.0);
        // clear fractions 0.5, 1.0, 0.5 -> (0.5*1 + 1*2 + 0.5*6) / 2 = 2.75
        let w = aggregate(&imgs, &fr, 2, Statistic::ClearWeightedMean, None).unwrap();
        assert!((w[0] - 2.75).abs() < 1e-6);
        assert_eq!(w[2], 4.0);
        let w = aggregate(
            &imgs,
            &fr,
            2,
            Statistic::ClearWeightedMean,
            Some(&[1.0, 0.0, 1.0, 1.0]),
        )
        .unwrap();
        assert!((w[0] - 3.5).abs() < 1e-6);
        assert!(aggregate(
            &imgs,
            &[Some(2), None, None, None],
            2,
            Statistic::Mean,
            None
        )
        .is_err());
    }
}
