//! The one sandbox for everything that runs proposal code: bubblewrap (`bwrap`) with no network,
//! a read-only system, only the scratch directory writable, its own PID namespace that dies with
//! its parent, rlimits (CPU seconds, address space, processes, file size, open files) set by
//! `prlimit`, a wall-clock timeout that kills the whole sandbox, a clean environment, capped
//! output, and at most `max_parallel` sandboxes at once.
//!
//! When the service runs as root, the code runs as an unprivileged uid of its own per sandbox
//! slot (`setpriv`), so the process limit is enforced and counted per sandbox.
//!
//! When no isolation is available, [`Sandbox::run`] fails with "no sandbox available: ..." and
//! nothing runs; only `mode: rlimits-only`, set explicitly, runs code without bubblewrap.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{OnceCell, Semaphore};

/// How proposal code is isolated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// bubblewrap namespaces plus rlimits (the default; required unless the operator says otherwise).
    #[default]
    Bubblewrap,
    /// rlimits, a clean environment and a timeout only: no namespaces. Only when set explicitly.
    RlimitsOnly,
}

/// Limits of one sandboxed run (`verify.sandbox:` in the config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// Isolation mode.
    pub mode: SandboxMode,
    /// Sandboxes at once (0: the number of cores).
    pub max_parallel: usize,
    /// CPU seconds (RLIMIT_CPU).
    pub cpu_seconds: u64,
    /// Address space, bytes (RLIMIT_AS).
    pub memory_bytes: u64,
    /// Processes (RLIMIT_NPROC).
    pub max_processes: u64,
    /// Largest file written, bytes (RLIMIT_FSIZE).
    pub max_file_bytes: u64,
    /// Open files (RLIMIT_NOFILE).
    pub max_open_files: u64,
    /// Output kept per stream, bytes; the rest is read and dropped.
    pub max_output_bytes: usize,
    /// The bubblewrap program.
    pub bwrap: PathBuf,
    /// Extra host paths bound read-only (besides /usr, /etc and the merged-/usr links).
    pub ro_paths: Vec<PathBuf>,
    /// First uid of the per-slot users when running as root.
    pub base_uid: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            mode: SandboxMode::Bubblewrap,
            max_parallel: 0,
            cpu_seconds: 10,
            memory_bytes: 1 << 30,
            max_processes: 32,
            max_file_bytes: 16 << 20,
            max_open_files: 64,
            max_output_bytes: 64 << 10,
            bwrap: PathBuf::from("bwrap"),
            ro_paths: Vec::new(),
            base_uid: 61000,
        }
    }
}

/// What a sandboxed program did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// Exit code (`None`: killed by a signal or the timeout).
    pub exit_code: Option<i32>,
    /// The wall-clock timeout killed it.
    pub timed_out: bool,
    /// Standard output, capped.
    pub stdout: String,
    /// Standard error, capped.
    pub stderr: String,
    /// Output beyond the cap was dropped.
    pub truncated: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs programs in isolation. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Sandbox {
    config: SandboxConfig,
    permits: Semaphore,
    free_slots: Mutex<Vec<u32>>,
    probe: OnceCell<Result<(), String>>,
    root: bool,
}

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn is_root() -> bool {
    // The owner of our own /proc entry is our effective uid.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

impl Sandbox {
    /// A sandbox with these limits.
    pub fn new(config: SandboxConfig) -> Self {
        let n = if config.max_parallel == 0 { cores() } else { config.max_parallel };
        Sandbox {
            permits: Semaphore::new(n),
            free_slots: Mutex::new((0..n as u32).rev().collect()),
            probe: OnceCell::new(),
            root: is_root(),
            config,
        }
    }

    /// The process-wide sandbox with default limits (used by checks built without one).
    pub fn shared_default() -> Arc<Sandbox> {
        static DEFAULT: std::sync::OnceLock<Arc<Sandbox>> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(|| Arc::new(Sandbox::new(SandboxConfig::default()))).clone()
    }

    /// The limits.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Where the program sees `scratch` (`/sandbox` under bubblewrap).
    pub fn workdir(&self, scratch: &Path) -> PathBuf {
        match self.config.mode {
            SandboxMode::Bubblewrap => PathBuf::from("/sandbox"),
            SandboxMode::RlimitsOnly => scratch.to_owned(),
        }
    }

    /// Whether isolation works here: `Err(reason)` when it does not. Probed once.
    pub async fn available(&self) -> Result<(), String> {
        self.probe
            .get_or_init(|| async {
                if self.config.mode == SandboxMode::RlimitsOnly {
                    return Ok(());
                }
                let dir = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
                let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), "exit 0".to_owned()];
                let mut cmd = self.command(dir.path(), &argv, 0, &[]);
                cmd.stdout(Stdio::null()).stderr(Stdio::piped()).stdin(Stdio::null()).kill_on_drop(true);
                let out = match cmd.spawn() {
                    Ok(c) => c.wait_with_output().await,
                    Err(e) => {
                        return Err(format!("{} cannot start: {e}", self.config.bwrap.display()));
                    }
                };
                match out {
                    Ok(o) if o.status.success() => Ok(()),
                    Ok(o) => Err(format!(
                        "{} does not work here: {}",
                        self.config.bwrap.display(),
                        String::from_utf8_lossy(&o.stderr).trim()
                    )),
                    Err(e) => Err(format!("{}: {e}", self.config.bwrap.display())),
                }
            })
            .await
            .clone()
    }

    fn command(&self, scratch: &Path, argv: &[String], slot: u32, env: &[(String, String)]) -> tokio::process::Command {
        let c = &self.config;
        let mut inner: Vec<String> = Vec::new();
        if self.root {
            let uid = (c.base_uid + slot).to_string();
            inner.extend(
                [
                    "setpriv",
                    &format!("--reuid={uid}"),
                    &format!("--regid={uid}"),
                    "--clear-groups",
                    "--inh-caps=-all",
                    "--bounding-set=-all",
                    "--",
                ]
                .map(str::to_owned),
            );
        }
        inner.extend([
            "prlimit".to_owned(),
            format!("--cpu={}", c.cpu_seconds.max(1)),
            format!("--as={}", c.memory_bytes.max(1 << 24)),
            format!("--nproc={}", c.max_processes.max(1)),
            format!("--fsize={}", c.max_file_bytes),
            format!("--nofile={}", c.max_open_files.max(8)),
            "--".to_owned(),
        ]);
        inner.extend(argv.iter().cloned());
        let dir = self.workdir(scratch).to_string_lossy().into_owned();
        let mut cmd = match c.mode {
            SandboxMode::Bubblewrap => {
                let mut cmd = tokio::process::Command::new(&c.bwrap);
                cmd.args([
                    "--die-with-parent",
                    "--new-session",
                    "--unshare-net",
                    "--unshare-pid",
                    "--unshare-ipc",
                    "--unshare-uts",
                    "--unshare-cgroup-try",
                ]);
                if !self.root {
                    cmd.arg("--unshare-user");
                }
                cmd.args(["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]);
                for top in ["bin", "sbin", "lib", "lib32", "lib64"] {
                    let host = Path::new("/").join(top);
                    match std::fs::read_link(&host) {
                        Ok(target) => {
                            cmd.arg("--symlink").arg(target).arg(&host);
                        }
                        Err(_) if host.exists() => {
                            cmd.arg("--ro-bind").arg(&host).arg(&host);
                        }
                        Err(_) => {}
                    }
                }
                for p in &c.ro_paths {
                    cmd.arg("--ro-bind-try").arg(p).arg(p);
                }
                cmd.args(["--dev", "/dev", "--proc", "/proc"]);
                cmd.arg("--bind").arg(scratch).arg(&dir).arg("--chdir").arg(&dir);
                cmd.args([
                    "--clearenv",
                    "--setenv",
                    "PATH",
                    PATH,
                    "--setenv",
                    "HOME",
                    &dir,
                    "--setenv",
                    "TMPDIR",
                    &dir,
                ]);
                cmd.args(["--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "LANG", "C.UTF-8"]);
                for (k, v) in env {
                    cmd.arg("--setenv").arg(k).arg(v);
                }
                cmd.arg("--");
                cmd.args(&inner);
                cmd
            }
            SandboxMode::RlimitsOnly => {
                let mut cmd = tokio::process::Command::new(&inner[0]);
                cmd.args(&inner[1..])
                    .current_dir(scratch)
                    .env_clear()
                    .env("PATH", PATH)
                    .env("HOME", &dir)
                    .env("TMPDIR", &dir)
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .env("LANG", "C.UTF-8")
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .process_group(0);
                cmd
            }
        };
        if c.mode == SandboxMode::Bubblewrap {
            cmd.current_dir("/").env_clear().env("PATH", PATH);
        }
        cmd
    }

    /// Run `argv` with `scratch` as its only writable directory (and working directory), `stdin`
    /// as its input, killed after `timeout`. `Err` when no sandbox is available or it cannot
    /// start; a program that fails, crashes or times out is an `Ok` with that outcome.
    pub async fn run(
        &self,
        scratch: &Path,
        argv: &[String],
        stdin: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<RunOutput, String> {
        self.run_with_env(scratch, argv, stdin, timeout, &[]).await
    }

    /// [`Sandbox::run`] with extra environment variables (the environment is otherwise clean).
    pub async fn run_with_env(
        &self,
        scratch: &Path,
        argv: &[String],
        stdin: Option<Vec<u8>>,
        timeout: Duration,
        env: &[(String, String)],
    ) -> Result<RunOutput, String> {
        self.available().await.map_err(|reason| format!("no sandbox available: {reason}"))?;
        let _permit = self.permits.acquire().await.map_err(|_| "sandbox closed".to_owned())?;
        let slot = self.free_slots.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or(0);
        let _slot = SlotGuard(&self.free_slots, slot);
        if self.root {
            chown_tree(scratch, self.config.base_uid + slot).map_err(|e| format!("cannot prepare scratch: {e}"))?;
        }
        let mut cmd = self.command(scratch, argv, slot, env);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| format!("cannot start the sandbox: {e}"))?;
        let pid = child.id();
        let feed = {
            let input = child.stdin.take();
            async move {
                if let (Some(mut s), Some(data)) = (input, stdin) {
                    let _ = s.write_all(&data).await;
                    let _ = s.shutdown().await;
                }
            }
        };
        let cap = self.config.max_output_bytes;
        let mut out_pipe = child.stdout.take();
        let mut err_pipe = child.stderr.take();
        let work = async {
            let ((), out, err) =
                tokio::join!(feed, read_capped(out_pipe.as_mut(), cap), read_capped(err_pipe.as_mut(), cap));
            (child.wait().await, out, err)
        };
        let result = tokio::time::timeout(timeout, work).await;
        let (status, (stdout, t1), (stderr, t2), timed_out) = match result {
            Ok((status, out, err)) => (status.ok(), out, err, false),
            Err(_) => {
                self.kill(&mut child, pid).await;
                (None, (String::new(), false), (format!("killed after the timeout of {timeout:?}"), false), true)
            }
        };
        Ok(RunOutput {
            exit_code: status.and_then(|s| s.code()),
            timed_out,
            stdout,
            stderr,
            truncated: t1 || t2,
            elapsed: started.elapsed(),
        })
    }

    async fn kill(&self, child: &mut tokio::process::Child, pid: Option<u32>) {
        // bubblewrap: killing it kills the PID namespace's init (--die-with-parent), and with it
        // every process inside. rlimits-only: kill the whole process group.
        if let (SandboxMode::RlimitsOnly, Some(pid)) = (self.config.mode, pid) {
            let _ = tokio::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

struct SlotGuard<'a>(&'a Mutex<Vec<u32>>, u32);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(self.1);
    }
}

fn chown_tree(dir: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(dir, Some(uid), Some(uid))?;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            chown_tree(&p, uid)?;
        } else {
            std::os::unix::fs::lchown(&p, Some(uid), Some(uid))?;
        }
    }
    Ok(())
}

/// Read up to `cap` bytes, then drain (and drop) the rest so the writer never blocks.
async fn read_capped<R: AsyncRead + Unpin>(pipe: Option<&mut R>, cap: usize) -> (String, bool) {
    let Some(p) = pipe else { return (String::new(), false) };
    let mut buf = Vec::new();
    let _ = p.take(cap as u64 + 1).read_to_end(&mut buf).await;
    let truncated = buf.len() > cap;
    if truncated {
        buf.truncate(cap);
        let _ = tokio::io::copy(p, &mut tokio::io::sink()).await;
    }
    (String::from_utf8_lossy(&buf).into_owned(), truncated)
}
