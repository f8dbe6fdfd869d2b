//! Dates of time-series inputs, from their file names or from a list.

use crate::error::{ConvertError, Result};
use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

/// Patterns tried, in order, when the user gives none.
const DEFAULT_PATTERN_TEXT: [&str; 3] = [
    r"(\d{4}-\d{2}-\d{2})",
    r"(?:^|\D)(\d{8})(?:\D|$)",
    r"(?:^|\D)[A-Z]?(\d{7})(?:\D|$)",
];

/// [`DEFAULT_PATTERN_TEXT`], compiled once.
static DEFAULT_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    DEFAULT_PATTERN_TEXT
        .iter()
        .map(|p| Regex::new(p).expect("built-in date pattern"))
        .collect()
});

/// Parses `YYYY-MM-DD`, `YYYYMMDD` or a day of year `YYYYDDD` / `YYYY-DDD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        8 => NaiveDate::parse_from_str(&digits, "%Y%m%d").ok(),
        7 => {
            let year: i32 = digits[..4].parse().ok()?;
            let doy: u32 = digits[4..].parse().ok()?;
            NaiveDate::from_yo_opt(year, doy)
        }
        _ => None,
    }
}

/// The date in `name` found by `pattern` (its first capture group, or the
/// whole match), or by the default patterns when `pattern` is `None`.
pub fn date_from_name(name: &str, pattern: Option<&Regex>) -> Result<NaiveDate> {
    let base = std::path::Path::new(name)
        .file_name()
        .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned());
    let try_one = |re: &Regex| -> Option<NaiveDate> {
        let caps = re.captures(&base)?;
        let m = caps.get(1).or_else(|| caps.get(0))?;
        parse_date(m.as_str())
    };
    if let Some(re) = pattern {
        return try_one(re).ok_or_else(|| ConvertError::Time {
            path: name.to_string(),
            reason: format!(
                "--time-from '{}' finds no date in the file name (the match must be YYYY-MM-DD, YYYYMMDD or YYYYDDD)",
                re.as_str()
            ),
        });
    }
    DEFAULT_PATTERNS
        .iter()
        .find_map(try_one)
        .ok_or_else(|| ConvertError::Time {
            path: name.to_string(),
            reason: "no date in the file name; pass --time-from REGEX (first group = the date) or --dates D1,D2,...".into(),
        })
}

/// Dates for `names`: from the list when given (one per input), else from the names.
pub fn dates_for(
    names: &[String],
    pattern: Option<&Regex>,
    list: Option<&[String]>,
) -> Result<Vec<NaiveDate>> {
    if let Some(list) = list {
        if list.len() != names.len() {
            return Err(ConvertError::InvalidOption {
                option: "--dates",
                reason: format!(
                    "{} dates for {} inputs; give one date per input, in input order",
                    list.len(),
                    names.len()
                ),
            });
        }
        return list
            .iter()
            .map(|d| {
                parse_date(d).ok_or_else(|| ConvertError::InvalidOption {
                    option: "--dates",
                    reason: format!("'{d}' is not a date (use YYYY-MM-DD)"),
                })
            })
            .collect();
    }
    names.iter().map(|n| date_from_name(n, pattern)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_real_product_names() {
        let d = date_from_name("x/TERRA_MODIS_012010_NDVI_2013-09-14.jp2", None).unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2013, 9, 14).unwrap());
        let d = date_from_name("LC08_L2SP_190026_20230715_02_T1.tif", None).unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2023, 7, 15).unwrap());
        let d = date_from_name("MOD13Q1.A2013257.h18v04.tif", None).unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2013, 9, 14).unwrap());
    }

    #[test]
    fn explicit_pattern_and_list() {
        let re = Regex::new(r"_(\d{4}\d{2}\d{2})\.").unwrap();
        assert_eq!(
            date_from_name("a_20200102.tif", Some(&re)).unwrap(),
            NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()
        );
        assert!(date_from_name("a.tif", Some(&re)).is_err());
        let names = vec!["a".to_string(), "b".to_string()];
        assert!(dates_for(&names, None, Some(&["2020-01-01".into()])).is_err());
        let d = dates_for(
            &names,
            None,
            Some(&["2020-01-01".into(), "2020-02-01".into()]),
        )
        .unwrap();
        assert_eq!(d[1], NaiveDate::from_ymd_opt(2020, 2, 1).unwrap());
    }
}
