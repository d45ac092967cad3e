//! `#[ringolo::compat::main]` / `#[ringolo::compat::test]` refuse what Tokio's refuse, with
//! Tokio's messages (the expected compiler output is in tests/ui/*.stderr).

#[test]
fn invalid_arguments_and_items_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/compat_*.rs");
}
