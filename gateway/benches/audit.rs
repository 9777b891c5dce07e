//! Audit log throughput (filled in below).
fn main() {}
