//! Owned by the examples work; filled in on its branch.
