//! Owned by the probes_security work; filled in on its branch.
