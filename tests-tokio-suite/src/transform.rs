//! The mechanical rewrite of a Tokio test file: every path into the `tokio` crate is pointed
//! at `ringolo::compat`, nothing else changes.
//!
//! - `tokio::x` (a path starting with `tokio`) becomes `ringolo::compat::x`;
//! - `::tokio` (an absolute path) becomes `::ringolo::compat`, and `use ::tokio;` /
//!   `use tokio;` keep the name `tokio` (`use ::ringolo::compat as tokio;`);
//! - `a::tokio` (a path *through* another module, such as `test::tokio::test` in
//!   macros_rename_test.rs, which names a re-export) is left alone;
//! - identifiers that only start with `tokio` (`tokio_test`, `tokio_stream`) are left alone,
//!   and so is everything inside string literals and comments: a string is data the test
//!   checks (`"tokio::fs::File { std: .."`, a `crate = "tokio1"` argument), not a path.
//!
//! `strip_statements` additionally drops, for a compile-only file, the assertion statements
//! that name modules outside the run's scope.

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// For each byte of `src`, whether it is inside a string or character literal or a comment.
fn literal_mask(src: &str) -> Vec<bool> {
    let b = src.as_bytes();
    let mut mask = vec![false; b.len()];
    let mut i = 0;
    let mark = |mask: &mut Vec<bool>, from: usize, to: usize| {
        for m in &mut mask[from..to.min(b.len())] {
            *m = true;
        }
    };
    while i < b.len() {
        let prev_ident = i > 0 && is_ident_char(b[i - 1]);
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                mark(&mut mask, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                mark(&mut mask, i, end);
                i = end;
            }
            b'r' if !prev_ident && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = src[start..]
                    .find(&close)
                    .map_or(b.len(), |n| start + n + close.len());
                mark(&mut mask, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                mark(&mut mask, i, j + 1);
                i = j + 1;
            }
            // A character literal ('"', '\''), not a lifetime ('a).
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                let end = src[i + 3..].find('\'').map_or(b.len(), |n| i + 3 + n + 1);
                mark(&mut mask, i, end);
                i = end;
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => {
                mark(&mut mask, i, i + 3);
                i += 3;
            }
            _ => i += 1,
        }
    }
    mask
}

/// Point every path into `tokio` at `ringolo::compat`.
pub fn rewrite(src: &str) -> String {
    let bytes = src.as_bytes();
    let in_literal = literal_mask(src);
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    let mut i = 0;
    let mut copied = 0;
    while let Some(found) = src[i..].find("tokio") {
        let at = i + found;
        let end = at + "tokio".len();
        i = end;
        let before = if at == 0 { None } else { Some(bytes[at - 1]) };
        if before.is_some_and(is_ident_char)
            || bytes.get(end).copied().is_some_and(is_ident_char)
            || in_literal[at]
        {
            continue;
        }
        let after_colons = src[end..].starts_with("::");
        let absolute = at >= 2 && &src[at - 2..at] == "::";
        let through_module = absolute && at >= 3 && is_ident_char(bytes[at - 3]);
        if through_module {
            continue;
        }
        let rest = src[end..].trim_start();
        let use_of_crate = rest.starts_with(';') && is_use_statement(&src[..at]);
        if !(after_colons || absolute || use_of_crate) {
            continue;
        }
        out.push_str(&src[copied..at]);
        out.push_str("ringolo::compat");
        if use_of_crate {
            out.push_str(" as tokio");
        }
        copied = end;
    }
    out.push_str(&src[copied..]);
    out
}

/// Whether the text before a `tokio` ends in `use` / `pub use` (with an optional `::`).
fn is_use_statement(before: &str) -> bool {
    let t = before.trim_end();
    let t = t.strip_suffix("::").unwrap_or(t).trim_end();
    t.ends_with("use")
        && t[..t.len() - 3]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_')
}

/// Drop every top-level-looking macro statement (`name!( ... );`, possibly over several lines)
/// that mentions one of `patterns`. Used for compile-only files whose assertions reach
/// modules outside the run's scope.
pub fn strip_statements(src: &str, patterns: &[String]) -> (String, usize) {
    let mut out = String::with_capacity(src.len());
    let mut dropped = 0;
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let is_macro_stmt =
            trimmed.starts_with("assert_value!") || trimmed.starts_with("async_assert_fn!");
        // `mod:NAME` drops a whole `mod NAME { ... }` block.
        if let Some(name) = trimmed
            .strip_prefix("mod ")
            .and_then(|r| r.trim_end().strip_suffix('{'))
            .map(str::trim)
        {
            if patterns
                .iter()
                .any(|p| p.strip_prefix("mod:") == Some(name))
            {
                let mut depth = 0i32;
                let mut j = i;
                loop {
                    for c in lines[j].chars() {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            _ => {}
                        }
                    }
                    j += 1;
                    if depth <= 0 || j >= lines.len() {
                        break;
                    }
                }
                dropped += 1;
                i = j;
                continue;
            }
        }
        let is_use = trimmed.starts_with("use ") && trimmed.trim_end().ends_with(';');
        if is_use && patterns.iter().any(|p| line.contains(p.as_str())) {
            dropped += 1;
            i += 1;
            continue;
        }
        if !is_macro_stmt {
            out.push_str(line);
            i += 1;
            continue;
        }
        // Collect the statement: until the parentheses balance and a `;` follows.
        let mut depth = 0i32;
        let mut j = i;
        let mut stmt = String::new();
        loop {
            let l = lines[j];
            stmt.push_str(l);
            for c in l.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            j += 1;
            if (depth <= 0 && l.trim_end().ends_with(';')) || j >= lines.len() {
                break;
            }
        }
        if patterns.iter().any(|p| stmt.contains(p.as_str())) {
            dropped += 1;
        } else {
            out.push_str(&stmt);
        }
        i = j;
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_paths_only() {
        assert_eq!(rewrite("tokio::spawn(x)"), "ringolo::compat::spawn(x)");
        assert_eq!(rewrite("#[tokio::test]"), "#[ringolo::compat::test]");
        assert_eq!(
            rewrite("use tokio::{a, b};"),
            "use ringolo::compat::{a, b};"
        );
        assert_eq!(
            rewrite("use ::tokio as tokio1;"),
            "use ::ringolo::compat as tokio1;"
        );
        assert_eq!(
            rewrite("pub use ::tokio;"),
            "pub use ::ringolo::compat as tokio;"
        );
        assert_eq!(rewrite("use tokio;"), "use ringolo::compat as tokio;");
        assert_eq!(
            rewrite("#[test::tokio::test(crate = \"test::tokio\")]"),
            "#[test::tokio::test(crate = \"test::tokio\")]"
        );
        assert_eq!(
            rewrite("tokio_test::assert_ok!(x)"),
            "tokio_test::assert_ok!(x)"
        );
        assert_eq!(rewrite("mytokio::x"), "mytokio::x");
        assert_eq!(rewrite("crate = \"tokio1\""), "crate = \"tokio1\"");
        assert_eq!(rewrite("let tokio = 1;"), "let tokio = 1;");
        assert_eq!(
            rewrite("assert_eq!(s, \"tokio::fs::File {\"); tokio::x"),
            "assert_eq!(s, \"tokio::fs::File {\"); ringolo::compat::x"
        );
        assert_eq!(
            rewrite("let c = '\"'; tokio::a(r#\"tokio::b\"#); // tokio::c\ntokio::d"),
            "let c = '\"'; ringolo::compat::a(r#\"tokio::b\"#); // tokio::c\nringolo::compat::d"
        );
        assert_eq!(
            rewrite("fn f<'a>(x: &'a tokio::X)"),
            "fn f<'a>(x: &'a ringolo::compat::X)"
        );
    }

    #[test]
    fn strips_named_statements() {
        let src = "assert_value!(tokio::net::X: Send);\nassert_value!(tokio::sync::Y: Send);\nasync_assert_fn!(\n    tokio::fs::f(): Send\n);\nfn z() {}\n";
        let (out, n) = strip_statements(src, &["tokio::net::".into(), "tokio::fs::".into()]);
        assert_eq!(n, 2);
        assert_eq!(out, "assert_value!(tokio::sync::Y: Send);\nfn z() {}\n");
        let src = "mod keep {\n    x!();\n}\nmod gone {\n    use a::*;\n    fn f() { g(); }\n}\nfn z() {}\n";
        let (out, n) = strip_statements(src, &["mod:gone".into()]);
        assert_eq!(n, 1);
        assert_eq!(out, "mod keep {\n    x!();\n}\nfn z() {}\n");
    }
}
