//! What the lab's servers share.
