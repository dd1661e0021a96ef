//! The sandbox's one error type. HTTP-level failures are not errors of this crate: they
//! are ProblemDetails responses (see `problem.rs`).

use std::net::SocketAddr;

/// Why a sandbox could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A configuration field cannot be honoured. Permanent.
    #[error("invalid sandbox configuration: {field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },

    /// The listening socket could not be bound (address in use, no permission). Transient
    /// for a fixed port that another process holds; retrying with port 0 always helps.
    #[error("could not bind the sandbox to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The bound socket would not report its address. Permanent.
    #[error("could not read the sandbox's local address: {0}")]
    LocalAddr(#[source] std::io::Error),
}

impl SandboxError {
    /// Whether trying again unchanged may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SandboxError::Bind { .. })
    }
}
