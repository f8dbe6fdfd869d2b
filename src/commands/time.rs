//! The time options shared by the verbs that take dated inputs.

use anyhow::Context;
use arco_convert::dates::dates_for;
use chrono::NaiveDate;
use clap::Args;

/// Where the dates of the inputs come from.
#[derive(Debug, Clone, Args)]
pub struct TimeArgs {
    /// Regex finding the date in each input's file name (first group = the
    /// date: YYYY-MM-DD, YYYYMMDD or YYYYDDD) [default: tries those forms].
    #[arg(long, value_name = "REGEX", help_heading = "Time")]
    pub time_from: Option<String>,

    /// Dates of the inputs, in input order (instead of --time-from).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "D,..",
        conflicts_with = "time_from",
        help_heading = "Time"
    )]
    pub dates: Option<Vec<String>>,
}

impl TimeArgs {
    /// Whether the user said anything about time.
    pub fn given(&self) -> bool {
        self.time_from.is_some() || self.dates.is_some()
    }

    /// The compiled `--time-from` regex.
    pub fn regex(&self) -> anyhow::Result<Option<regex::Regex>> {
        self.time_from
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .context("--time-from is not a valid regular expression")
    }

    /// One date per name: from `--dates`, else from the names.
    pub fn dates_of(&self, names: &[String]) -> anyhow::Result<Vec<NaiveDate>> {
        Ok(dates_for(
            names,
            self.regex()?.as_ref(),
            self.dates.as_deref(),
        )?)
    }

    /// One date per name, from the names only (quality rasters, say).
    pub fn dates_from_names(&self, names: &[String]) -> anyhow::Result<Vec<NaiveDate>> {
        Ok(dates_for(names, self.regex()?.as_ref(), None)?)
    }
}
