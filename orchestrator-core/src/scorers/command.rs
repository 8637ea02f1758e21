//! Command check: runs a configured program on the proposal (lint, dry run).
//!
//! No shell is involved: the program and its arguments are passed as they are. The child gets a
//! clean environment (only `PATH`, plus variables named in `env`), its own temporary working
//! directory, a timeout after which it is killed, and its output is captured and truncated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::check::{Check, CheckCategory, CheckDetails, Scorer};
use crate::error::{AgentError, Error};
use crate::proposal::Proposal;
use crate::task::Task;

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
}

const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

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

    /// Pass one environment variable to the program (the environment is otherwise clean).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    async fn run(&self, content: &str) -> Result<(Option<i32>, String, bool), AgentError> {
        let workdir = tempfile::tempdir().map_err(|e| AgentError::Failed(format!("{}: tempdir: {e}", self.name)))?;
        let mut args = self.args.clone();
        if let CommandInput::File { suffix } = &self.input {
            let path = workdir.path().join(format!("proposal{suffix}"));
            tokio::fs::write(&path, content)
                .await
                .map_err(|e| AgentError::Failed(format!("{}: write proposal: {e}", self.name)))?;
            let p = path.to_string_lossy().into_owned();
            for a in &mut args {
                if a == "{file}" {
                    a.clone_from(&p);
                }
            }
        }
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&args)
            .current_dir(workdir.path())
            .env_clear()
            .env("PATH", DEFAULT_PATH)
            .envs(&self.env)
            .stdin(if self.input == CommandInput::Stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| AgentError::Failed(format!("{}: cannot start {}: {e}", self.name, self.program.display())))?;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let data = content.as_bytes().to_vec();
        let feed = async move {
            if let Some(mut s) = stdin {
                // A program that exits without reading its input is not an error here.
                let _ = s.write_all(&data).await;
                let _ = s.shutdown().await;
            }
        };
        let limit = self.max_output as u64;
        let read_out = async {
            let mut buf = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(limit + 1).read_to_end(&mut buf).await;
                let _ = tokio::io::copy(s, &mut tokio::io::sink()).await;
            }
            buf
        };
        let read_err = async {
            let mut buf = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(limit + 1).read_to_end(&mut buf).await;
                let _ = tokio::io::copy(s, &mut tokio::io::sink()).await;
            }
            buf
        };
        let work = async {
            let ((), out, err) = tokio::join!(feed, read_out, read_err);
            let status = child.wait().await;
            (status, out, err)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Err(_) => Ok((None, format!("killed after timeout of {:?}", self.timeout), true)),
            Ok((status, out, err)) => {
                let status = status.map_err(|e| AgentError::Failed(format!("{}: wait: {e}", self.name)))?;
                let mut text = String::from_utf8_lossy(&out).into_owned();
                if !err.is_empty() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&String::from_utf8_lossy(&err));
                }
                Ok((status.code(), truncate(text, self.max_output), false))
            }
        }
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
