//! tokio-suite: Tokio's own integration tests, run against `ringolo::compat`.
//!
//! The test files come from the `tokio` package cargo downloaded (the version Cargo.lock
//! pins), found with `cargo metadata`. They are rewritten mechanically (transform.rs) into a
//! crate generated under `target/tokio-suite/`, built once, and each file's binary runs in a
//! process of its own with a timeout. Nothing of Tokio's is committed: only `scope.txt` (the
//! files in scope), `skips.txt` (individual skipped tests, each with a reason) and this tool.
//!
//! Tripwires (exit status 2): a file of a family in scope that is neither listed nor
//! excluded, a listed file that does not exist, a file that compiles to zero tests, a skip
//! naming a test that does not exist, the `full` / `test-util` features off. The run fails
//! (exit status 1) when fewer than `--min-pass` percent of the tests in scope (skipped ones
//! included) pass. The last line
//! is always `N passed, N failed, N skipped`.

mod generate;
mod runner;
mod scope;
mod transform;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

struct Options {
    timeout: Duration,
    jobs: usize,
    only: Vec<String>,
    min_pass: f64,
    switch: generate::Switch,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        timeout: Duration::from_secs(300),
        jobs: 2,
        only: Vec::new(),
        min_pass: 97.0,
        switch: generate::Switch::Import,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--timeout" => {
                o.timeout = Duration::from_secs(
                    value("--timeout")?
                        .parse()
                        .map_err(|e| format!("--timeout: {e}"))?,
                )
            }
            "--jobs" => {
                o.jobs = value("--jobs")?
                    .parse()
                    .map_err(|e| format!("--jobs: {e}"))?
            }
            "--only" => o.only.push(value("--only")?),
            "--switch" => {
                o.switch = match value("--switch")?.as_str() {
                    "import" => generate::Switch::Import,
                    "rename" => generate::Switch::Rename,
                    other => return Err(format!("--switch: `import` or `rename`, not {other}")),
                }
            }
            "--min-pass" => {
                o.min_pass = value("--min-pass")?
                    .parse()
                    .map_err(|e| format!("--min-pass: {e}"))?
            }
            "--help" | "-h" => {
                println!(
                    "tests-tokio-suite/run [--only FILE.rs]... [--timeout SECS per file, default 300] \
                     [--jobs N, default 2] [--min-pass PERCENT, default 97] \
                     [--switch import|rename, default import: `tokio::` rewritten to \
                     `ringolo::compat::`, or the files unchanged with `tokio` renamed to \
                     the ringolo-compat package]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tokio-suite: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tokio-suite: {e}");
            println!("0 passed, 0 failed, 0 skipped");
            ExitCode::from(2)
        }
    }
}

/// The tokio version Cargo.lock pins.
fn locked_tokio_version(workspace: &Path) -> Result<String, String> {
    let lock = std::fs::read_to_string(workspace.join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"tokio\"" {
            if let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock pins no tokio".into())
}

/// The directory of the `tokio` package of that version, from `cargo metadata`.
fn tokio_package_dir(workspace: &Path, version: &str) -> Result<PathBuf, String> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace)
        .args(["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    for p in packages {
        if p["name"] == "tokio" && p["version"] == version {
            let manifest = p["manifest_path"]
                .as_str()
                .ok_or("tokio without a manifest path")?;
            return Ok(Path::new(manifest)
                .parent()
                .ok_or("bad manifest path")?
                .to_path_buf());
        }
    }
    Err(format!("tokio {version} is not in cargo metadata"))
}

/// A rough count of the tests in a file that did not compile (its test attributes).
fn count_test_attributes(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .map(str::trim_start)
                .filter(|l| {
                    l.starts_with("#[test]")
                        || l.starts_with("#[tokio::test")
                        || l.starts_with("#[maybe_tokio_test")
                })
                .count()
        })
        .unwrap_or(0)
        .max(1)
}

fn run(options: &Options) -> Result<ExitCode, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace")?
        .to_path_buf();
    let here = workspace.join("tests-tokio-suite");
    let version = locked_tokio_version(&workspace)?;
    let tokio_dir = tokio_package_dir(&workspace, &version)?;
    let scope = scope::read_scope(&here.join("scope.txt"))?;
    let skips = scope::read_skips(&here.join("skips.txt"))?;
    let mut tripwires: Vec<String> = Vec::new();

    // Every file of a family in scope is accounted for, and every listed file exists.
    let listed: Vec<&str> = scope
        .files
        .iter()
        .map(|f| f.name.as_str())
        .chain(scope.excluded.keys().map(String::as_str))
        .collect();
    let tests_dir = tokio_dir.join("tests");
    for entry in
        std::fs::read_dir(&tests_dir).map_err(|e| format!("{}: {e}", tests_dir.display()))?
    {
        let name = entry
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let in_family = scope.families.iter().any(|f| name.starts_with(f.as_str()));
        if in_family && name.ends_with(".rs") && !listed.contains(&name.as_str()) {
            tripwires.push(format!(
                "{name} is neither in scope nor excluded (scope.txt)"
            ));
        }
    }
    for name in &listed {
        if !tests_dir.join(name).exists() {
            tripwires.push(format!(
                "{name} is listed in scope.txt but tokio {version} has no such file"
            ));
        }
    }
    for s in &skips {
        if !scope.files.iter().any(|f| f.name == s.file) {
            tripwires.push(format!("skips.txt names {}, which is not in scope", s.file));
        }
    }

    let suite_dir = workspace.join("target").join("tokio-suite");
    let crate_dir = suite_dir.join(options.switch.dir_name());
    std::fs::create_dir_all(&crate_dir).map_err(|e| e.to_string())?;
    eprintln!(
        "== tokio-suite: tokio {version} from {}",
        tokio_dir.display()
    );
    let generated = generate::write_crate(
        &workspace,
        &tokio_dir,
        &version,
        &scope,
        &crate_dir,
        options.switch,
    )?;
    for (file, n) in &generated.stripped {
        eprintln!("   {file}: {n} assertions outside the run's scope dropped");
    }
    eprintln!("== building {} test files", scope.files.len());
    let built = runner::build(&generated.dir, &suite_dir.join("target"))?;

    let logs = suite_dir.join(format!("logs-{}", options.switch.dir_name()));
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;

    // The feature tripwire runs first.
    match built.executables.get(generate::FEATURE_TRIPWIRE) {
        Some(exe) => {
            let r = runner::run_one(
                exe,
                false,
                &generated.dir,
                &[],
                &[],
                options.timeout,
                &logs.join("suite_features.log"),
            );
            if !r.failed.is_empty() || r.passed.is_empty() {
                tripwires.push(
                    "the `full` / `test-util` features are off in the generated crate".into(),
                );
            }
        }
        None => tripwires.push("the feature tripwire did not build".into()),
    }

    struct Planned {
        file: String,
        exe: PathBuf,
        unprivileged: bool,
        tests: Vec<String>,
        skips: Vec<String>,
    }
    let mut planned = Vec::new();
    let mut compile_failed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut compile_only_ok = Vec::new();
    for file in &scope.files {
        if !options.only.is_empty() && !options.only.contains(&file.name) {
            continue;
        }
        let target = file.name.trim_end_matches(".rs").to_string();
        let Some(exe) = built.executables.get(&target) else {
            let why = built
                .failed
                .get(&target)
                .cloned()
                .unwrap_or_else(|| "no executable".into());
            compile_failed.insert(
                file.name.clone(),
                (
                    if file.compile_only {
                        0
                    } else {
                        count_test_attributes(&tests_dir.join(&file.name))
                    },
                    why,
                ),
            );
            continue;
        };
        if file.compile_only {
            compile_only_ok.push(file.name.clone());
            continue;
        }
        let tests = runner::list(exe)?;
        if tests.is_empty() {
            tripwires.push(format!("{} compiles to zero tests", file.name));
        }
        let mine: Vec<String> = skips
            .iter()
            .filter(|s| s.file == file.name)
            .map(|s| s.test.clone())
            .collect();
        for s in &mine {
            if !tests.contains(s) {
                tripwires.push(format!(
                    "skips.txt skips {}::{s}, which does not exist",
                    file.name
                ));
            }
        }
        planned.push(Planned {
            file: file.name.clone(),
            exe: exe.clone(),
            unprivileged: file.unprivileged,
            tests,
            skips: mine,
        });
    }

    eprintln!(
        "== running {} test files, {} at a time",
        planned.len(),
        options.jobs
    );
    let timeout = options.timeout;
    let jobs: Vec<runner::Job<(String, usize, runner::FileResult)>> = planned
        .into_iter()
        .map(|p| {
            let crate_dir = generated.dir.clone();
            let log = logs.join(format!("{}.log", p.file.trim_end_matches(".rs")));
            Box::new(move || {
                let mut r = runner::run_one(
                    &p.exe,
                    p.unprivileged,
                    &crate_dir,
                    &p.tests,
                    &p.skips,
                    timeout,
                    &log,
                );
                if r.timed_out {
                    // One hanging test must not take the file's others with it: run each test
                    // that did not report on its own, with a shorter timeout.
                    let pending: Vec<String> = r.failed.iter().cloned().collect();
                    for t in pending {
                        let others: Vec<String> =
                            p.tests.iter().filter(|x| **x != t).cloned().collect();
                        let one_log = log.with_extension(format!("{}.log", t.replace("::", "__")));
                        let one = runner::run_one(
                            &p.exe,
                            p.unprivileged,
                            &crate_dir,
                            &p.tests,
                            &others,
                            timeout.min(Duration::from_secs(60)),
                            &one_log,
                        );
                        if one.passed.contains(&t) {
                            r.failed.remove(&t);
                            r.passed.insert(t);
                        } else if one.ignored.contains(&t) {
                            r.failed.remove(&t);
                            r.ignored.insert(t);
                        }
                    }
                }
                eprintln!(
                    "   {:<40} {:>4} passed {:>3} failed {:>3} skipped  {:>6.1}s{}",
                    p.file,
                    r.passed.len(),
                    r.failed.len(),
                    p.skips.len() + r.ignored.len(),
                    r.elapsed.as_secs_f64(),
                    if r.timed_out { "  TIMED OUT" } else { "" }
                );
                (p.file, p.skips.len(), r)
            }) as Box<dyn FnOnce() -> _ + Send>
        })
        .collect();
    let results = runner::parallel(jobs, options.jobs);

    // The report: per file, then failures, then the totals.
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    println!("\n== Tokio {version} test suite against ringolo::compat");
    println!(
        "{:<40} {:>7} {:>7} {:>8}",
        "file", "passed", "failed", "skipped"
    );
    let mut rows: Vec<(String, usize, usize, usize, String)> = Vec::new();
    for (file, nskips, r) in &results {
        let s = nskips + r.ignored.len();
        rows.push((
            file.clone(),
            r.passed.len(),
            r.failed.len(),
            s,
            if r.timed_out {
                "timed out".into()
            } else {
                String::new()
            },
        ));
    }
    for (file, (n, _)) in &compile_failed {
        rows.push((file.clone(), 0, *n, 0, "did not compile".into()));
    }
    rows.sort();
    for (file, p, f, s, note) in &rows {
        println!("{file:<40} {p:>7} {f:>7} {s:>8}  {note}");
        passed += p;
        failed += f;
        skipped += s;
    }
    for f in &compile_only_ok {
        println!("{f:<40} compiles (compile-time assertions only)");
    }
    if !skips.is_empty() {
        println!("\nSkipped:");
        for s in &skips {
            println!("  {} {} — {}", s.file, s.test, s.reason);
        }
    }
    let mut any_failure = false;
    for (file, _, r) in &results {
        for t in &r.failed {
            if !any_failure {
                println!("\nFailed:");
                any_failure = true;
            }
            println!("  {file} {t}");
        }
    }
    for (file, (_, why)) in &compile_failed {
        println!(
            "\n{file} did not compile:\n{}",
            why.lines().take(30).collect::<Vec<_>>().join("\n")
        );
    }
    if !tripwires.is_empty() {
        println!("\nTripwires:");
        for t in &tripwires {
            println!("  {t}");
        }
    }
    // The target counts every test in scope: a skipped test does not pass.
    let in_scope = passed + failed + skipped;
    let rate = if in_scope == 0 {
        0.0
    } else {
        100.0 * passed as f64 / in_scope as f64
    };
    println!(
        "\npass rate {rate:.1} % of the tests in scope ({passed} of {in_scope}; {skipped} of them \
         skipped, {failed} failed); target {} %",
        options.min_pass
    );
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if !tripwires.is_empty() {
        return Ok(ExitCode::from(2));
    }
    if options.only.is_empty() && rate < options.min_pass {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
