//! The dynamic configuration: the model, the rule language, and the label parser.

pub mod labels;
pub mod model;
pub mod rule;

pub use model::*;
