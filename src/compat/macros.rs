//! What Tokio's macros and tests reach under `tokio::macros::support`.

/// Stands for `tokio::macros::support`.
pub mod support {
    pub use std::future::poll_fn;
}
