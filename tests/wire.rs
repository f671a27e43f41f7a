//! The wire layer end to end (issue 2).
