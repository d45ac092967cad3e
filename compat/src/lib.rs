//! `ringolo-compat`: Tokio's API on ringolo, under Tokio's name.
//!
//! Its root is [`ringolo::compat`], so an application switches from Tokio with one line in
//! Cargo.toml and no source change:
//!
//! ```toml
//! tokio = { package = "ringolo-compat", version = "0.1", features = ["full"] }
//! ```
//!
//! `#[tokio::main]` and `#[tokio::test]` then expand to ringolo runtimes (the attributes find
//! this crate under whatever name the application gave it). Libraries that depend on the real
//! `tokio` keep it; see MIGRATION.md for what runs where and what differs.

#![forbid(unsafe_code)]

#[doc(inline)]
pub use ringolo::compat::*;
