//! Owned by the netpol work; filled in on its branch.
