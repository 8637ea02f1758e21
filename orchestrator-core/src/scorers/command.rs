//! Command check: runs a configured program on the proposal (lint, dry run).
//!
//! The program runs in the [`Sandbox`] (bubblewrap: no network, read-only system, rlimits), like
//! every other piece of proposal-handling code. No shell is involved: the program and its
//! arguments are passed as they are. The child gets a clean environment (only `PATH`, plus
//! variables named in `env`), its own scratch working directory, a timeout after which the whole
//! sandbox is killed, and its output is captured and truncated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use std::sync::Arc;

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::{AgentError, Error};
use crate::proposal::Proposal;
use crate::task::Task;
use crate::verify::Sandbox;

/// How the proposal reaches the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandInput {
    /// Written to the program's standard input.
    Stdin,
    /// Written to a temporary file; every argument equal to `{file}` is replaced by its path.
    /// `suffix` sets the file's extension (for example `.py`).
    File {
        /// File name suffix.
        suffix: String,
    },
}

impl CommandInput {
    /// `stdin`, or `file` (with `suffix`); anything else is an error naming `input`.
    pub fn parse(input: &str, suffix: &str) -> Result<Self, Error> {
        match input.trim() {
            "stdin" => Ok(CommandInput::Stdin),
            "file" => Ok(CommandInput::File { suffix: suffix.to_owned() }),
            other => Err(Error::invalid("input", format!("{other:?} is not stdin or file"))),
        }
    }
}

impl std::str::FromStr for CommandInput {
    type Err = Error;
    /// `stdin`, `file`, or `file:SUFFIX` (`file:.py`).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once(':') {
            Some(("file", suffix)) => CommandInput::parse("file", suffix),
            _ => CommandInput::parse(s, ""),
        }
    }
}

/// A check that runs a program; exit status 0 passes.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    name: String,
    category: CheckCategory,
    program: PathBuf,
    args: Vec<String>,
    input: CommandInput,
    timeout: Duration,
    max_output: usize,
    env: BTreeMap<String, String>,
    sandbox: Arc<Sandbox>,
}

impl CommandCheck {
    /// A check named `name` that runs `program` with `args`, proposal on stdin, 30 s timeout,
    /// 16 KiB of output kept.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>, args: Vec<String>) -> Result<Self, Error> {
        let name = name.into();
        let program = program.into();
        if program.as_os_str().is_empty() {
            return Err(Error::invalid(format!("checks.{name}.program"), "must not be empty"));
        }
        Ok(CommandCheck {
            name,
            category: CheckCategory::Other,
            program,
            args,
            input: CommandInput::Stdin,
            timeout: Duration::from_secs(30),
            max_output: 16 * 1024,
            env: BTreeMap::new(),
            sandbox: Sandbox::shared_default(),
        })
    }

    /// Which suite slot this check fills (lint or dry run).
    pub fn category(mut self, category: CheckCategory) -> Self {
        self.category = category;
        self
    }

    /// How the proposal is passed.
    pub fn input(mut self, input: CommandInput) -> Self {
        self.input = input;
        self
    }

    /// Kill the program after this long (the check then fails).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keep at most this many bytes of output.
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// Run in this sandbox (default: the process-wide one with default limits).
    pub fn sandbox(mut self, sandbox: Arc<Sandbox>) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Pass one environment variable to the program (the environment is otherwise clean).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    async fn run(&self, content: &str) -> Result<(Option<i32>, String, bool), AgentError> {
        let workdir = tempfile::tempdir().map_err(|e| AgentError::Failed(format!("{}: tempdir: {e}", self.name)))?;
        let mut args = vec![self.program.to_string_lossy().into_owned()];
        args.extend(self.args.iter().cloned());
        let stdin = match &self.input {
            CommandInput::Stdin => Some(content.as_bytes().to_vec()),
            CommandInput::File { suffix } => {
                let path = workdir.path().join(format!("proposal{suffix}"));
                tokio::fs::write(&path, content)
                    .await
                    .map_err(|e| AgentError::Failed(format!("{}: write proposal: {e}", self.name)))?;
                let p = self.sandbox.workdir(workdir.path()).join(format!("proposal{suffix}"));
                let p = p.to_string_lossy().into_owned();
                for a in &mut args[1..] {
                    if a == "{file}" {
                        a.clone_from(&p);
                    }
                }
                None
            }
        };
        let env: Vec<(String, String)> = self.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let out = self
            .sandbox
            .run_with_env(workdir.path(), &args, stdin, self.timeout, &env)
            .await
            .map_err(|e| AgentError::Failed(format!("{}: {e}", self.name)))?;
        if out.timed_out {
            return Ok((None, format!("killed after timeout of {:?}", self.timeout), true));
        }
        let mut text = out.stdout;
        if !out.stderr.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&out.stderr);
        }
        Ok((out.exit_code, truncate(text, self.max_output), false))
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n[output truncated]");
    }
    s
}

#[async_trait]
impl Scorer for CommandCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self, proposal: &Proposal, _task: &Task) -> Result<Check, AgentError> {
        let (code, output, timed_out) = self.run(&proposal.content).await?;
        let errors: Vec<String> =
            output.lines().filter(|l| l.to_lowercase().contains("error")).take(50).map(str::to_owned).collect();
        let warning_count = output.lines().filter(|l| l.to_lowercase().contains("warning")).count() as u32;
        let passed = !timed_out && code == Some(0);
        let message = if timed_out {
            format!("{} timed out after {:?}", self.name, self.timeout)
        } else {
            match code {
                Some(0) => format!("{} passed", self.name),
                Some(c) => format!("{} failed with exit code {c}", self.name),
                None => format!("{} was killed by a signal", self.name),
            }
        };
        let details = CheckDetails {
            error_count: errors.len() as u32,
            warning_count,
            errors,
            output: Some(output),
            exit_code: code,
            ..Default::default()
        };
        Ok(Check::new(self.name.clone(), self.category, passed, if passed { 1.0 } else { 0.0 }, message)
            .with_details(details))
    }
}
