// Tokio's compile errors for arguments it does not know or cannot parse.

#[ringolo::compat::test(flavor = "single_thread")]
async fn old_flavor_name() {}

#[ringolo::compat::test(flavor = "fast")]
async fn unknown_flavor() {}

#[ringolo::compat::test(threads = 2)]
async fn unknown_argument() {}

#[ringolo::compat::test(flavor = "current_thread", flavor = "current_thread")]
async fn duplicate_argument() {}

#[ringolo::compat::test(worker_threads = 0)]
async fn zero_workers() {}

#[ringolo::compat::test(multi_thread)]
async fn bare_flavor() {}

fn main() {}
