//! Where configuration comes from. Each provider observes its world (a file, Docker, a Swarm) and
//! publishes its whole desired configuration, every time it changes, on a `watch` channel;
//! the proxy merges the latest value of every provider into one routing snapshot.

use tokio::sync::watch;

use crate::config::ProviderConfig;

/// The sending side a provider publishes on. Publish only when the configuration changed
/// (`send_if_modified` / compare before sending) so the proxy rebuilds only on real changes.
pub type Publisher = watch::Sender<ProviderConfig>;

pub mod docker;
pub mod engine_watch;
pub mod file;
pub mod swarm;
