//! The error type of the crate.

/// Everything that can go wrong in reconstruction. Messages are lowercase and
/// say what to change.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A SWAG parameter is out of range.
    #[error("invalid swag parameter {name} = {value}: {hint}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        hint: &'static str,
    },
    /// Two buffers that must match in length do not.
    #[error(
        "{what} has {got} values but {expected} were expected: pass buffers of matching length"
    )]
    LengthMismatch {
        /// Which buffer.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Savitzky-Golay window is not usable.
    #[error("invalid savitzky-golay window {window} with order {order}: {hint}")]
    InvalidWindow {
        /// Window length.
        window: usize,
        /// Polynomial order.
        order: usize,
        /// What is allowed.
        hint: &'static str,
    },
    /// The series is shorter than the Savitzky-Golay window.
    #[error("series of length {len} is shorter than the savitzky-golay window {window}: use a smaller window or a longer series")]
    SeriesTooShort {
        /// Series length.
        len: usize,
        /// Window length.
        window: usize,
    },
    /// A quality-mask rule string could not be parsed.
    #[error("cannot parse qa rule '{input}': {hint}")]
    ParseRule {
        /// The string given.
        input: String,
        /// What is expected.
        hint: String,
    },
    /// A mask asks for a qa band (or has a qa band) without the other half.
    #[error("{0}")]
    MaskSetup(&'static str),
    /// A cadence string could not be parsed.
    #[error("cannot parse cadence '{input}': {hint}")]
    ParseCadence {
        /// The string given.
        input: String,
        /// What is expected.
        hint: &'static str,
    },
    /// A cadence does not give a whole number of samples per year.
    #[error("cadence {cadence} does not give a fixed number of samples per year: {hint}")]
    CadenceSeason {
        /// The cadence.
        cadence: String,
        /// What to use instead.
        hint: &'static str,
    },
    /// A date range is empty or reversed.
    #[error("date range {start} .. {end} is empty: give an end date on or after the start")]
    EmptyRange {
        /// Start date.
        start: chrono::NaiveDate,
        /// End date.
        end: chrono::NaiveDate,
    },
    /// A frame index is out of range.
    #[error("image {image} is assigned to frame {frame} but there are only {n_frames} frames: assign images with the same frame list")]
    FrameOutOfRange {
        /// Image index.
        image: usize,
        /// Frame index given.
        frame: usize,
        /// Number of frames.
        n_frames: usize,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, Error>;
