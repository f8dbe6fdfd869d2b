//! Time-series reconstruction for arco: pure computation, no I/O.
//!
//! The chain is `mask` (quality masking: cloudy or invalid samples become
//! NaN) -> `aggregate` (regular frames from irregular acquisitions) ->
//! `swag` (SWAG seasonally weighted gap filling, Consoli et al. 2024) ->
//! optionally `savgol` (Savitzky-Golay smoothing, or linear interpolation +
//! Savitzky-Golay as an alternative gap filler).
//!
//! Layout: series are *pixel-major*: each pixel's `n` time steps are
//! contiguous (`data[p * n + t]`). Rasters read one date at a time are
//! *time-major* (`data[t * n_pixels + p]`); [`layout::time_to_pixel_major`] and
//! [`layout::pixel_to_time_major`] convert between the two.

pub mod aggregate;
mod error;
pub mod layout;
pub mod mask;
pub mod savgol;
pub mod swag;

pub use aggregate::{Cadence, Frame, Statistic};
pub use error::{Error, Result};
pub use mask::{Mask, QaRule, ValueTest};
pub use savgol::{linear_interp_fill, sg_gapfill, SavGol};
pub use swag::{swag_weights, SwagKernel, SwagParams};
