//! Findings and the report: what `arco check` prints and what CI reads.

use serde::Serialize;
use std::fmt;

/// The four Cs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum C {
    /// Nothing missing: dates, tiles, assets, pixels.
    Complete,
    /// One grid, CRS, dtype and schema; metadata equal to the files.
    Consistent,
    /// Up to date for the cadence.
    Current,
    /// Checksums, layouts and metadata valid.
    Correct,
}

impl C {
    /// All four, in report order.
    pub const ALL: [C; 4] = [C::Complete, C::Consistent, C::Current, C::Correct];

    /// Capitalised name for people.
    pub fn title(self) -> &'static str {
        match self {
            C::Complete => "Complete",
            C::Consistent => "Consistent",
            C::Current => "Current",
            C::Correct => "Correct",
        }
    }
}

/// How bad a finding is. Only errors fail the check (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks the C.
    Error,
    /// Worth fixing; does not fail the check.
    Warning,
    /// For the record (what was sampled, what was inferred).
    Info,
}

/// One thing found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Which C it breaks.
    pub c: C,
    /// How bad.
    pub severity: Severity,
    /// Stable rule id (`asset-exists`, `cog-layout`...).
    pub rule: &'static str,
    /// The object: a file, an Item id, an asset href.
    pub object: String,
    /// What is wrong, with the values.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Counts of one C.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Checks run for this C.
    pub checks: u64,
    /// Findings of severity error.
    pub errors: u64,
    /// Findings of severity warning.
    pub warnings: u64,
}

/// What was read and how much of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Collections checked.
    pub collections: u64,
    /// Items checked.
    pub items: u64,
    /// Assets checked.
    pub assets: u64,
    /// Bytes read to verify checksums.
    pub bytes_hashed: u64,
    /// Assets whose pixels were read (all or a sample).
    pub pixel_reads: u64,
    /// What sampling applied, in words.
    pub sampling: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was checked (path or URL).
    pub target: String,
    /// Reference date for Current (ISO date).
    pub as_of: String,
    /// True when no finding is an error.
    pub ok: bool,
    /// Per C, in the order Complete, Consistent, Current, Correct.
    pub summary: Vec<(C, Tally)>,
    /// What was read.
    pub coverage: Coverage,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
}

/// Collects findings and counts checks while the rules run.
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
    checks: [u64; 4],
}

impl Findings {
    /// Counts one check of `c` (passed or not).
    pub fn checked(&mut self, c: C) {
        self.checks[c as usize] += 1;
    }

    /// Counts `n` checks of `c`.
    pub fn checked_n(&mut self, c: C, n: u64) {
        self.checks[c as usize] += n;
    }

    /// Records a finding.
    pub fn add(
        &mut self,
        c: C,
        severity: Severity,
        rule: &'static str,
        object: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.items.push(Finding {
            c,
            severity,
            rule,
            object: object.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Records an error.
    pub fn error(
        &mut self,
        c: C,
        rule: &'static str,
        object: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.add(c, Severity::Error, rule, object, message, fix);
    }

    /// Adds another collector's findings and counts.
    pub fn extend(&mut self, other: Findings) {
        self.items.extend(other.items);
        for (a, b) in self.checks.iter_mut().zip(other.checks) {
            *a += b;
        }
    }

    /// Findings so far.
    pub fn list(&self) -> &[Finding] {
        &self.items
    }

    /// The report: findings sorted worst first (severity, then C, rule, object).
    pub fn into_report(mut self, target: String, as_of: String, coverage: Coverage) -> Report {
        self.items.sort_by(|a, b| {
            (a.severity, a.c, a.rule, &a.object).cmp(&(b.severity, b.c, b.rule, &b.object))
        });
        let summary = C::ALL
            .iter()
            .map(|&c| {
                let of_c = self.items.iter().filter(|f| f.c == c);
                let t = Tally {
                    checks: self.checks[c as usize],
                    errors: of_c
                        .clone()
                        .filter(|f| f.severity == Severity::Error)
                        .count() as u64,
                    warnings: of_c.filter(|f| f.severity == Severity::Warning).count() as u64,
                };
                (c, t)
            })
            .collect::<Vec<_>>();
        let ok = summary.iter().all(|(_, t)| t.errors == 0);
        Report {
            target,
            as_of,
            ok,
            summary,
            coverage,
            findings: self.items,
        }
    }
}

impl Report {
    /// Findings of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The JSON form (`schemas/check-report.schema.json`).
    pub fn to_json(&self) -> serde_json::Value {
        let summary: serde_json::Map<String, serde_json::Value> = self
            .summary
            .iter()
            .map(|(c, t)| {
                (
                    format!("{c:?}").to_lowercase(),
                    serde_json::json!({"checks": t.checks, "errors": t.errors, "warnings": t.warnings, "ok": t.errors == 0}),
                )
            })
            .collect();
        serde_json::json!({
            "arco_version": env!("CARGO_PKG_VERSION"),
            "target": self.target,
            "as_of": self.as_of,
            "ok": self.ok,
            "summary": summary,
            "coverage": self.coverage,
            "findings": self.findings,
        })
    }
}

impl fmt::Display for Report {
    /// One line per C with counts, then the findings, worst first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, t) in &self.summary {
            let verdict = if t.errors == 0 { "ok  " } else { "FAIL" };
            writeln!(
                f,
                "{verdict} {:<10} {:>6} checks, {} error{}, {} warning{}",
                c.title(),
                t.checks,
                t.errors,
                if t.errors == 1 { "" } else { "s" },
                t.warnings,
                if t.warnings == 1 { "" } else { "s" },
            )?;
        }
        let cov = &self.coverage;
        writeln!(
            f,
            "read {} collection{}, {} item{}, {} asset{} ({} hashed); {}",
            cov.collections,
            if cov.collections == 1 { "" } else { "s" },
            cov.items,
            if cov.items == 1 { "" } else { "s" },
            cov.assets,
            if cov.assets == 1 { "" } else { "s" },
            human_bytes(cov.bytes_hashed),
            cov.sampling
        )?;
        for x in &self.findings {
            let sev = match x.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            writeln!(
                f,
                "{sev}: [{}/{}] {}: {}\n    fix: {}",
                x.c.title(),
                x.rule,
                x.object,
                x.message,
                x.fix
            )?;
        }
        Ok(())
    }
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sorts_worst_first_and_counts_per_c() {
        let mut f = Findings::default();
        f.checked_n(C::Correct, 3);
        f.checked(C::Current);
        f.add(C::Current, Severity::Warning, "w", "b", "m", "x");
        f.error(C::Correct, "checksum", "a.tif", "differs", "republish");
        f.add(C::Complete, Severity::Info, "i", "c", "m", "x");
        let r = f.into_report("t".into(), "2026-01-01".into(), Coverage::default());
        assert!(!r.ok);
        let order: Vec<_> = r.findings.iter().map(|x| x.rule).collect();
        assert_eq!(order, ["checksum", "w", "i"]);
        let correct = &r.summary[3];
        assert_eq!(
            (correct.0, correct.1.checks, correct.1.errors),
            (C::Correct, 3, 1)
        );
        assert_eq!(r.summary[2].1.warnings, 1);
        let text = r.to_string();
        assert!(text.starts_with("ok   Complete"), "{text}");
        assert!(text.contains("FAIL Correct"));
        assert_eq!(r.to_json()["summary"]["correct"]["ok"], false);
    }

    #[test]
    fn bytes_read_for_people() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
