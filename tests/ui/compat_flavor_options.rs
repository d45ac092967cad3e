// Tokio's compile errors for arguments that do not fit the flavor.

#[ringolo::compat::test(worker_threads = 2)]
async fn workers_on_current_thread() {}

#[ringolo::compat::main(start_paused = true)]
async fn paused_on_multi_thread() {}

#[ringolo::compat::test(flavor = "multi_thread", unhandled_panic = "ignore")]
async fn unhandled_panic_on_multi_thread() {}

fn main() {}
