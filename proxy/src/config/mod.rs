//! The dynamic configuration: the model, the rule language, the label parser, validation and
//! the merge of every provider's configuration.

#[doc(hidden)]
pub mod labels;
pub mod merge;
pub mod model;
pub mod rule;
pub mod tls;
pub mod validate;

pub use model::*;
pub use tls::{RouterTls, TlsConfig};
