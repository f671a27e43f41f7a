//! Owned by the properties work; filled in on its branch.
