mod dashboard;
fn main() {}
