//! Cadence of a time series: declared (`P1M`, `16D`, `1Y`...) or inferred
//! from the Items' dates, and the holes it implies.

use chrono::{DateTime, Months, TimeDelta, Utc};

/// A regular time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// A number of days.
    Days(u32),
    /// A number of calendar months.
    Months(u32),
}

impl Cadence {
    /// Parses `16D`, `2M`, `1Y`, `P16D`, `P1M`, `P1Y`, `P2W` (case-insensitive).
    pub fn parse(s: &str) -> Option<Cadence> {
        let t = s.trim().to_ascii_uppercase();
        let t = t.strip_prefix('P').unwrap_or(&t);
        let (num, unit) = t.split_at(t.len().checked_sub(1)?);
        let n: u32 = num.parse().ok().filter(|&n| n > 0)?;
        match unit {
            "D" => Some(Cadence::Days(n)),
            "W" => Some(Cadence::Days(7 * n)),
            "M" => Some(Cadence::Months(n)),
            "Y" => Some(Cadence::Months(12 * n)),
            _ => None,
        }
    }

    /// Nominal length in days (a month counts 30.44).
    pub fn days(self) -> f64 {
        match self {
            Cadence::Days(d) => f64::from(d),
            Cadence::Months(m) => f64::from(m) * 30.436_875,
        }
    }

    /// `t` plus one step.
    pub fn after(self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Cadence::Days(d) => t + TimeDelta::days(i64::from(d)),
            Cadence::Months(m) => t.checked_add_months(Months::new(m)).unwrap_or(t),
        }
    }

    /// The ISO 8601 duration (`P16D`, `P1M`).
    pub fn iso(self) -> String {
        match self {
            Cadence::Days(d) => format!("P{d}D"),
            Cadence::Months(m) if m % 12 == 0 => format!("P{}Y", m / 12),
            Cadence::Months(m) => format!("P{m}M"),
        }
    }

    /// A cadence from the median spacing of sorted, distinct dates: whole
    /// months when the spacing is 28-31 days (or multiples), days otherwise.
    pub fn infer(dates: &[DateTime<Utc>]) -> Option<Cadence> {
        let mut gaps: Vec<f64> = dates
            .windows(2)
            .map(|w| (w[1] - w[0]).num_seconds() as f64 / 86_400.0)
            .filter(|&g| g > 0.0)
            .collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        let months = (median / 30.436_875).round();
        if months >= 1.0 && (median - months * 30.436_875).abs() <= 3.0 * months.min(2.0) {
            return Some(Cadence::Months(months as u32));
        }
        Some(Cadence::Days(median.round().max(1.0) as u32))
    }
}

/// Missing steps between consecutive dates: for each gap longer than 1.5
/// steps, the dates one step apart that should have been there.
pub fn holes(dates: &[DateTime<Utc>], cadence: Cadence) -> Vec<DateTime<Utc>> {
    let step = cadence.days();
    let mut missing = Vec::new();
    for w in dates.windows(2) {
        let gap = (w[1] - w[0]).num_seconds() as f64 / 86_400.0;
        if gap > 1.5 * step {
            let n = (gap / step).round() as usize;
            let mut t = w[0];
            for _ in 1..n {
                t = cadence.after(t);
                missing.push(t);
            }
        }
    }
    missing
}

/// Parses an RFC 3339 datetime or a plain date.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DateTime<Utc> {
        parse_datetime(s).unwrap()
    }

    #[test]
    fn parses_both_spellings() {
        assert_eq!(Cadence::parse("16D"), Some(Cadence::Days(16)));
        assert_eq!(Cadence::parse("P1M"), Some(Cadence::Months(1)));
        assert_eq!(Cadence::parse("p1y"), Some(Cadence::Months(12)));
        assert_eq!(Cadence::parse("P2W"), Some(Cadence::Days(14)));
        assert_eq!(Cadence::parse("M"), None);
        assert_eq!(Cadence::parse("0D"), None);
        assert_eq!(Cadence::Months(12).iso(), "P1Y");
    }

    #[test]
    fn infers_months_and_days_and_finds_holes() {
        let monthly: Vec<_> = [
            "2024-01-01",
            "2024-02-01",
            "2024-03-01",
            "2024-05-01",
            "2024-06-01",
        ]
        .iter()
        .map(|s| d(s))
        .collect();
        let c = Cadence::infer(&monthly).unwrap();
        assert_eq!(c, Cadence::Months(1));
        assert_eq!(holes(&monthly, c), [d("2024-04-01")]);

        let sixteen: Vec<_> = (0..10)
            .filter(|&k| k != 4 && k != 5)
            .map(|k| d("2018-02-02") + TimeDelta::days(16 * k))
            .collect();
        let c = Cadence::infer(&sixteen).unwrap();
        assert_eq!(c, Cadence::Days(16));
        assert_eq!(
            holes(&sixteen, c),
            [
                d("2018-02-02") + TimeDelta::days(64),
                d("2018-02-02") + TimeDelta::days(80)
            ]
        );
        assert!(Cadence::infer(&[d("2024-01-01")]).is_none());
    }
}
