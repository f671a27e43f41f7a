//! Owned by the hostile work; filled in on its branch.
