//! The committed lists: which of Tokio's test files are in scope (`scope.txt`) and which
//! individual tests are skipped, each with its reason (`skips.txt`).

use std::collections::BTreeMap;
use std::path::Path;

/// A file of Tokio's tests in scope.
#[derive(Debug, Clone)]
pub struct ScopeFile {
    pub name: String,
    /// Only compiled (it holds compile-time assertions and no `#[test]`).
    pub compile_only: bool,
    /// Statements naming these are dropped first (compile-only files).
    pub strip: Vec<String>,
    /// Run as an unprivileged user when the suite runs as root (a test that asserts a
    /// permission check root's capabilities would bypass).
    pub unprivileged: bool,
}

#[derive(Debug, Default)]
pub struct Scope {
    pub files: Vec<ScopeFile>,
    /// File name → why it is out of scope.
    pub excluded: BTreeMap<String, String>,
    /// File-name prefixes whose files must each be listed, in or out.
    pub families: Vec<String>,
}

/// One skipped test.
#[derive(Debug, Clone)]
pub struct Skip {
    pub file: String,
    pub test: String,
    pub reason: String,
}

pub fn read_scope(path: &Path) -> Result<Scope, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scope = Scope::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        let bad = |what: &str| format!("{}:{}: {what}: {line}", path.display(), n + 1);
        match first {
            "family" => {
                for w in words {
                    scope.families.push(w.to_string());
                }
            }
            "exclude" => {
                let file = words.next().ok_or_else(|| bad("exclude needs a file"))?;
                let reason: Vec<&str> = words.collect();
                if reason.is_empty() {
                    return Err(bad("an exclusion needs a reason"));
                }
                scope.excluded.insert(file.to_string(), reason.join(" "));
            }
            file if file.ends_with(".rs") => {
                let mut f = ScopeFile {
                    name: file.to_string(),
                    compile_only: false,
                    strip: Vec::new(),
                    unprivileged: false,
                };
                for w in words {
                    if w == "compile-only" {
                        f.compile_only = true;
                    } else if w == "unprivileged" {
                        f.unprivileged = true;
                    } else if let Some(list) = w.strip_prefix("strip=") {
                        f.strip = list.split(',').map(str::to_string).collect();
                    } else {
                        return Err(bad("unknown option"));
                    }
                }
                scope.files.push(f);
            }
            _ => return Err(bad("expected a file, `exclude` or `family`")),
        }
    }
    Ok(scope)
}

pub fn read_skips(path: &Path) -> Result<Vec<Skip>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut skips = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(file), Some(test)) = (words.next(), words.next()) else {
            return Err(format!(
                "{}:{}: expected `file test reason`",
                path.display(),
                n + 1
            ));
        };
        let reason: Vec<&str> = words.collect();
        if reason.is_empty() {
            return Err(format!(
                "{}:{}: the skip of {test} needs a one-line reason",
                path.display(),
                n + 1
            ));
        }
        skips.push(Skip {
            file: file.to_string(),
            test: test.to_string(),
            reason: reason.join(" "),
        });
    }
    Ok(skips)
}
