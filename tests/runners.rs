//! Owned by the runners work; filled in on its branch.
