//! A label-driven reverse proxy for the HTTP infrastructure lab, compatible with Traefik v2's
//! Docker labels and file format.

pub mod config;
pub mod provider;
