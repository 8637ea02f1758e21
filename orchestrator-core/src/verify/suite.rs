//! Test suites that travel with a task, and running them against a proposal in the sandbox.
//!
//! Python is built in: the code under test (the proposal's last fenced code block in the suite's
//! language, or the whole proposal when it has none) is written as `solution.py` in a fresh
//! scratch directory, next to the suite as `test_solution.py`, which imports from `solution`.
//! Every top-level `test_*` function is one case; a suite without one is a single case that
//! passes when the program exits 0. Other languages come from config as command templates, and
//! are run as one case each.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::check::CaseResult;
use crate::task::TestSuite;
use crate::verify::sandbox::Sandbox;

/// A runner for a language other than Python (`verify.runners.<language>:`): the program runs
/// with `{solution}` and `{tests}` replaced by the files' names; exit 0 passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerConfig {
    /// Program and arguments.
    pub command: Vec<String>,
    /// File name of the code under test (`solution.js`).
    pub solution_file: String,
    /// File name of the suite (`test_solution.js`).
    pub tests_file: String,
}

/// Fence tags that count as `lang`.
fn tags(lang: &str) -> &'static [&'static str] {
    match lang {
        "python" => &["python", "py", "python3"],
        "javascript" => &["javascript", "js", "node"],
        "typescript" => &["typescript", "ts"],
        "rust" => &["rust", "rs"],
        "go" => &["go", "golang"],
        "bash" | "sh" | "shell" => &["bash", "sh", "shell"],
        _ => &[],
    }
}

/// The code under test: the last fenced block tagged with `lang` (else the last untagged fenced
/// block), or the whole text when it has no fenced block.
pub fn extract_code(text: &str, lang: &str) -> String {
    static FENCE: OnceLock<Regex> = OnceLock::new();
    let re = FENCE.get_or_init(|| {
        Regex::new(r"(?ms)^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)^[ \t]*```").expect("static regex")
    });
    let lang_tags = tags(lang);
    let mut tagged = None;
    let mut untagged = None;
    for c in re.captures_iter(text) {
        let tag = c.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
        let body = c.get(2).map_or("", |m| m.as_str());
        if tag.is_empty() {
            untagged = Some(body);
        } else if tag == lang || lang_tags.contains(&tag.as_str()) {
            tagged = Some(body);
        }
    }
    tagged.or(untagged).map(str::to_owned).unwrap_or_else(|| text.to_owned())
}

/// Top-level `test_*` functions of a Python suite, in order (duplicates once).
pub fn python_cases(code: &str) -> Vec<String> {
    static DEF: OnceLock<Regex> = OnceLock::new();
    let re = DEF.get_or_init(|| {
        Regex::new(r"(?m)^(?:async[ \t]+)?def[ \t]+(test_[A-Za-z0-9_]*)[ \t]*\(").expect("static regex")
    });
    let mut names: Vec<String> = Vec::new();
    for c in re.captures_iter(code) {
        let n = c[1].to_owned();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// The Python harness. It reads a one-time marker from stdin before importing anything of the
/// proposal's, runs the named cases in order, and reports each on stdout behind the marker.
const PY_RUNNER: &str = r#"
import sys, os, json, traceback, runpy, asyncio, inspect
def _main():
    marker = sys.stdin.readline().strip()
    cases = json.loads(sys.stdin.readline())
    # Reports go to a private copy of stdout; the proposal's own output (fd 1) goes nowhere, so
    # nothing it prints can crowd out or forge a report.
    out = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    sys.stdout = open(1, "w", closefd=False)
    def report(name, ok, msg=""):
        out.write(marker + json.dumps({"name": name, "passed": ok, "message": msg[-1500:]}) + "\n")
        out.flush()
    sys.path.insert(0, ".")
    if not cases:
        try:
            runpy.run_path("test_solution.py", run_name="__main__")
            report("program", True)
        except SystemExit as e:
            ok = e.code in (None, 0)
            report("program", ok, "" if ok else "exit code %r" % (e.code,))
        except BaseException:
            report("program", False, traceback.format_exc(limit=-3))
        return
    try:
        import test_solution as mod
    except BaseException:
        msg = "the suite did not import: " + traceback.format_exc(limit=-3)
        for name in cases:
            report(name, False, msg)
        return
    for name in cases:
        try:
            f = getattr(mod, name)
            r = f()
            if inspect.isawaitable(r):
                asyncio.run(r)
            report(name, True)
        except BaseException as e:
            report(name, False, "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=-2)))
_main()
"#;

/// Runs suites against proposals in a [`Sandbox`]. Results are remembered per (suite, code
/// under test), so identical proposals in a council, or a suite re-run on the same code, cost
/// one sandbox run.
#[derive(Debug, Clone)]
pub struct SuiteRunner {
    sandbox: std::sync::Arc<Sandbox>,
    runners: BTreeMap<String, RunnerConfig>,
    python: String,
    cache: std::sync::Arc<std::sync::Mutex<ResultMemory>>,
}

/// Results by (suite, code under test).
type ResultMemory = HashMap<(TestSuite, String), Vec<CaseResult>>;

/// Most remembered results before the memory is cleared.
const CACHE_ENTRIES: usize = 4096;

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    format!("{}…", &s[..i])
}

impl SuiteRunner {
    /// A runner on `sandbox`, with extra languages from `runners`.
    pub fn new(sandbox: std::sync::Arc<Sandbox>, runners: BTreeMap<String, RunnerConfig>) -> Self {
        SuiteRunner { sandbox, runners, python: "python3".into(), cache: Default::default() }
    }

    /// The process-wide Python runner on [`Sandbox::shared_default`] (builders use it when given
    /// no runner), so its memory of results is shared too.
    pub fn shared_default() -> std::sync::Arc<SuiteRunner> {
        static DEFAULT: OnceLock<std::sync::Arc<SuiteRunner>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| std::sync::Arc::new(SuiteRunner::new(Sandbox::shared_default(), BTreeMap::new())))
            .clone()
    }

    /// The sandbox.
    pub fn sandbox(&self) -> &std::sync::Arc<Sandbox> {
        &self.sandbox
    }

    /// Whether `lang` can be run.
    pub fn supports(&self, lang: &str) -> bool {
        lang == "python" || self.runners.contains_key(lang)
    }

    /// Run one suite against `proposal`; every case is reported, failed ones with the reason.
    /// `Err` only when the sandbox is unavailable or the scratch directory cannot be made.
    pub async fn run(&self, suite: &TestSuite, proposal: &str) -> Result<Vec<CaseResult>, String> {
        let code = extract_code(proposal, &suite.lang());
        let key = (suite.clone(), code);
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(hit.clone());
        }
        let cases = self.run_uncached(suite, &key.1).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, cases.clone());
        Ok(cases)
    }

    async fn run_uncached(&self, suite: &TestSuite, code: &str) -> Result<Vec<CaseResult>, String> {
        let lang = suite.lang();
        let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
        let name = suite.display_name().to_owned();
        let write = |file: &str, text: &str| {
            std::fs::write(dir.path().join(file), text).map_err(|e| format!("cannot write {file}: {e}"))
        };
        if lang == "python" {
            let cases = python_cases(&suite.code);
            write("solution.py", code)?;
            write("test_solution.py", &suite.code)?;
            write("_orchestrator_runner.py", PY_RUNNER)?;
            let marker = format!("@@case-{}@@", crate::ids::new_id());
            let input = format!("{marker}\n{}\n", serde_json::to_string(&cases).unwrap_or_else(|_| "[]".into()));
            let argv = vec![self.python.clone(), "-I".into(), "-S".into(), "_orchestrator_runner.py".into()];
            // -I ignores the environment and user site; -S skips site so only the stdlib loads,
            // then the runner puts the scratch directory on sys.path.
            let out = self.sandbox.run(dir.path(), &argv, Some(input.into_bytes()), suite.timeout()).await?;
            let expected = if cases.is_empty() { vec!["program".to_owned()] } else { cases };
            let mut got: BTreeMap<String, (bool, String)> = BTreeMap::new();
            for line in out.stdout.lines() {
                let Some(rest) = line.strip_prefix(&marker) else { continue };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(rest) else { continue };
                let n = v.get("name").and_then(|x| x.as_str()).unwrap_or_default().to_owned();
                let ok = v.get("passed").and_then(|x| x.as_bool()).unwrap_or(false);
                let msg = v.get("message").and_then(|x| x.as_str()).unwrap_or_default().to_owned();
                got.entry(n).or_insert((ok, msg));
            }
            let ended = if out.timed_out {
                format!("no result: the suite was killed after its timeout of {:?}", suite.timeout())
            } else {
                format!(
                    "no result: the run ended (exit code {:?}) before this case finished: {}",
                    out.exit_code,
                    cut(out.stderr.trim(), 300)
                )
            };
            Ok(expected
                .into_iter()
                .map(|n| {
                    let (passed, message) = got.remove(&n).unwrap_or((false, ended.clone()));
                    CaseResult { suite: name.clone(), name: n, passed, message: cut(&message, 1000) }
                })
                .collect())
        } else {
            let r = self.runners.get(&lang).ok_or_else(|| format!("no runner configured for language {lang:?}"))?;
            write(&r.solution_file, code)?;
            write(&r.tests_file, &suite.code)?;
            let argv: Vec<String> = r
                .command
                .iter()
                .map(|a| a.replace("{solution}", &r.solution_file).replace("{tests}", &r.tests_file))
                .collect();
            let out = self.sandbox.run(dir.path(), &argv, None, suite.timeout()).await?;
            let passed = !out.timed_out && out.exit_code == Some(0);
            let message = if passed {
                String::new()
            } else if out.timed_out {
                format!("killed after its timeout of {:?}", suite.timeout())
            } else {
                format!("exit code {:?}: {}", out.exit_code, cut(format!("{}{}", out.stdout, out.stderr).trim(), 700))
            };
            Ok(vec![CaseResult { suite: name, name: "program".into(), passed, message }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_block_in_the_language_is_the_code() {
        let t = "Intro\n```python\nold = 1\n```\ntext\n```js\nno()\n```\n```py\nnew = 2\n```\nbye";
        assert_eq!(extract_code(t, "python"), "new = 2\n");
        assert_eq!(extract_code("```\nx = 1\n```", "python"), "x = 1\n");
        assert_eq!(extract_code("def f():\n    return 1\n", "python"), "def f():\n    return 1\n");
    }

    #[test]
    fn cases_are_top_level_test_functions_in_order() {
        let code = "def helper(): pass\ndef test_b():\n    pass\nasync def test_a(): pass\n    def test_nested(): pass\ndef test_b(): pass\n";
        assert_eq!(python_cases(code), vec!["test_b".to_owned(), "test_a".to_owned()]);
        assert!(python_cases("assert 1 == 1\n").is_empty());
    }
}
