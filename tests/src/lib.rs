//! The lab's command line and test harness: start the whole lab on loopback without Docker
//! ([`local::LocalStack`], `lab up`), drive it while it runs ([`control`]), and check a running
//! stack against the lab's steps and the reference report's tests ([`check`], `lab check`),
//! in plain HTTP and in a real browser.

pub mod bins;
pub mod check;
pub mod child;
pub mod control;
pub mod docker;
pub mod local;
pub mod routes;
pub mod swarm;
pub mod up;
