//! Owned by the stacks work; filled in on its branch.
