//! tenax simulator (to be written).
