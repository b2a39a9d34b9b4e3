//! Conformance suite every backend runs (to be written).
