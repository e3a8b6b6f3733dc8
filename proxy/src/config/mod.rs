//! The dynamic configuration: the model, the rule language, the label parser, validation and
//! the merge of every provider's configuration.

#[doc(hidden)]
pub mod labels;
pub mod merge;
pub mod model;
pub mod rule;
pub mod server_url;
pub mod tls;
pub mod validate;

pub use model::*;
pub use server_url::ServerUrl;
pub use tls::{RouterTls, TlsConfig};
