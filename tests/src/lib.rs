//! lab

pub mod docker;
