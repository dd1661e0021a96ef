//! Chart errors.

use flexdesk_mirror::MirrorError;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The request itself is wrong (e.g. `from` after `to`).
    #[error("{0}")]
    InvalidInput(String),
    /// plotters could not draw (a font or backend problem).
    #[error("the chart could not be drawn: {0}")]
    Render(String),
}
