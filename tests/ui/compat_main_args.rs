#[ringolo::compat::main]
async fn main(_arg: u32) {}
