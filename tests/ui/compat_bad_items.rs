// Tokio's compile errors for the function the attribute is on.

#[ringolo::compat::test]
fn not_async() {}

#[ringolo::compat::test]
#[test]
async fn second_test_attribute() {}

fn main() {}
