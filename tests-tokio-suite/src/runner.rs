//! Building the generated crate once, and running each test binary in its own process with a
//! timeout, a few at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What building produced: a test executable per target, and the targets that failed.
pub struct Built {
    pub executables: BTreeMap<String, PathBuf>,
    /// Target → the compiler's first error lines.
    pub failed: BTreeMap<String, String>,
}

pub fn build(crate_dir: &Path, target_dir: &Path) -> Result<Built, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--tests", "--keep-going", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    let mut executables = BTreeMap::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let target = &msg["target"];
        let is_test = target["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        if !is_test {
            continue;
        }
        let name = target["name"].as_str().unwrap_or_default().to_string();
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                if let Some(exe) = msg["executable"].as_str() {
                    executables.insert(name, PathBuf::from(exe));
                }
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                let text = msg["message"]["rendered"].as_str().unwrap_or_default();
                let entry = failed.entry(name).or_default();
                if entry.lines().count() < 40 {
                    entry.push_str(text);
                }
            }
            _ => {}
        }
    }
    for name in executables.keys() {
        failed.remove(name);
    }
    Ok(Built {
        executables,
        failed,
    })
}

/// The tests a binary holds (`--list`).
pub fn list(exe: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

#[derive(Debug, Default, Clone)]
pub struct FileResult {
    pub passed: BTreeSet<String>,
    pub failed: BTreeSet<String>,
    pub ignored: BTreeSet<String>,
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// Run one binary: every test but `skips`, libtest's own threads, killed after `timeout`
/// (tests that had not reported by then count as failed). With `unprivileged`, a suite run
/// as root runs it as `nobody` (through `setpriv`, which drops every capability).
pub fn run_one(
    exe: &Path,
    unprivileged: bool,
    cwd: &Path,
    tests: &[String],
    skips: &[String],
    timeout: Duration,
    log: &Path,
) -> FileResult {
    let start = Instant::now();
    let mut cmd = if unprivileged && is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.current_dir(cwd).arg("--exact");
    for s in skips {
        cmd.args(["--skip", s]);
    }
    cmd.env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills threads and children too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut result = FileResult::default();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::write(log, format!("spawn failed: {e}"));
            result.failed = tests
                .iter()
                .filter(|t| !skips.contains(t))
                .cloned()
                .collect();
            return result;
        }
    };
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > timeout => {
                result.timed_out = true;
                // The child leads its own process group: kill the whole group.
                kill_group(child.id());
                let _ = child.wait();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break,
        }
    }
    let out = stdout.map(join).unwrap_or_default();
    let err = stderr.map(join).unwrap_or_default();
    let _ = std::fs::write(log, format!("{out}\n--- stderr ---\n{err}"));
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        // `#[should_panic]` tests report as `name - should panic ... ok`.
        let rest = &rest.replacen(" - should panic ...", " ...", 1);
        if let Some(name) = rest.strip_suffix(" ... ok") {
            result.passed.insert(name.to_string());
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            result.failed.insert(name.to_string());
        } else if let Some(name) = rest.strip_suffix(" ... ignored") {
            result.ignored.insert(name.to_string());
        } else if let Some((name, _)) = rest.split_once(" ... ignored, ") {
            result.ignored.insert(name.to_string());
        }
    }
    // Whatever did not report (a hang, a crash of the whole binary) failed.
    for t in tests {
        if !skips.contains(t) && !result.passed.contains(t) && !result.ignored.contains(t) {
            result.failed.insert(t.clone());
        }
    }
    result.elapsed = start.elapsed();
    result
}

fn kill_group(pgid: u32) {
    // Through kill(1), which keeps this tool free of `unsafe`.
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{pgid}")])
        .status();
}

type Reader = std::thread::JoinHandle<String>;

fn drain<R: Read + Send + 'static>(mut r: R) -> Reader {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn join(r: Reader) -> String {
    r.join().unwrap_or_default()
}

/// One job for `parallel`.
pub type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// Run `jobs` closures, `parallel` at a time, in order of submission.
pub fn parallel<T: Send + 'static>(jobs: Vec<Job<T>>, parallel: usize) -> Vec<T> {
    let n = jobs.len();
    type Queue<T> = Arc<Mutex<Vec<(usize, Job<T>)>>>;
    let queue: Queue<T> = Arc::new(Mutex::new(jobs.into_iter().enumerate().rev().collect()));
    let results: Arc<Mutex<Vec<Option<T>>>> = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let workers: Vec<_> = (0..parallel.max(1))
        .map(|_| {
            let queue = queue.clone();
            let results = results.clone();
            std::thread::spawn(move || loop {
                let job = queue.lock().unwrap().pop();
                let Some((i, job)) = job else { break };
                let out = job();
                results.lock().unwrap()[i] = Some(out);
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}
