//! static-server
