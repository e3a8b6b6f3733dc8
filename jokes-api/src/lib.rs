//! jokes-api
