//! source plumbing
