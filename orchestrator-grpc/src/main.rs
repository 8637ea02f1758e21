//! `orchestrator`: the gRPC service (`serve`) and a client for it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use orchestrator_grpc::pb;
use orchestrator_grpc::pb::orchestrator_service_client::OrchestratorServiceClient;
use orchestrator_grpc::ServerConfig;
use orchestrator_grpc::{serve, ServeOptions};

// jemalloc: glibc malloc cost a quarter of the engine's CPU under fan-out (see the benchmarks).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "orchestrator", version, about = "Multi-agent deliberation service and client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Target {
    /// Service address.
    #[arg(long, default_value = "http://127.0.0.1:50055", env = "ORCHESTRATOR_ADDR")]
    addr: String,
    /// Bearer token, if the service requires one.
    #[arg(long, env = "ORCHESTRATOR_AUTH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the response as JSON (protobuf's JSON mapping), for scripts and jq.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct TaskArgs {
    /// Council role (DEV, QA, ARCHITECT, DEVOPS, DATA).
    #[arg(long, default_value = "DEV")]
    role: String,
    /// The task.
    #[arg(long)]
    task: String,
    /// Rubric text.
    #[arg(long, default_value = "")]
    rubric: String,
    /// A requirement (repeatable).
    #[arg(long = "requirement")]
    requirements: Vec<String>,
    /// Review rounds (0: council default).
    #[arg(long, default_value_t = 0)]
    rounds: i32,
    /// Agents (0: whole council).
    #[arg(long, default_value_t = 0)]
    num_agents: i32,
    /// Deadline in seconds (0: server default).
    #[arg(long, default_value_t = 0)]
    timeout_seconds: i32,
    /// A test suite file run against every proposal in the server's sandbox (repeatable). The
    /// language comes from the extension (.py: python); Python suites import from `solution`.
    #[arg(long = "tests", value_name = "FILE")]
    tests: Vec<std::path::PathBuf>,
    /// deliberate, best_of_n, single or self_consistency (empty: server default).
    #[arg(long, default_value = "")]
    strategy: String,
    /// Most agent calls (0: server default).
    #[arg(long, default_value_t = 0)]
    max_calls: u64,
    /// Most tokens over every call (0: server default).
    #[arg(long, default_value_t = 0)]
    max_tokens_total: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC service.
    Serve {
        /// YAML config (ConfigMap shape); optional.
        #[arg(long, env = "ORCHESTRATOR_CONFIG")]
        config: Option<PathBuf>,
        /// Allow built-in scripted test agents (development only; also
        /// ORCHESTRATOR_ALLOW_TEST_AGENTS=1).
        #[arg(long)]
        allow_test_agents: bool,
    },
    /// Run a deliberation and print the ranked results.
    Deliberate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        task: TaskArgs,
    },
    /// Deliberate and let the architect choose the winner.
    Orchestrate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        task: TaskArgs,
    },
    /// Service health and statistics.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// List councils with their agents.
    Councils {
        #[command(flatten)]
        target: Target,
        /// Only this role.
        #[arg(long, default_value = "")]
        role: String,
    },
}

type Client = OrchestratorServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, TokenInterceptor>,
>;

#[derive(Clone)]
struct TokenInterceptor(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for TokenInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// Why a client command failed, and its exit code: 2 for bad arguments, and for a gRPC status
/// 10 + its code (11 CANCELLED ... 26 UNAUTHENTICATED; see README "CLI"). Not reaching the
/// service is UNAVAILABLE (24).
struct CliError {
    exit: u8,
    message: String,
}

/// Exit code of a gRPC status.
fn exit_code(code: tonic::Code) -> u8 {
    10 + code as u8
}

impl CliError {
    fn usage(message: impl Into<String>) -> Self {
        CliError { exit: 2, message: message.into() }
    }
}

impl From<tonic::Status> for CliError {
    fn from(s: tonic::Status) -> Self {
        CliError { exit: exit_code(s.code()), message: format!("{:?}: {}", s.code(), s.message()) }
    }
}

/// Print `value` as pretty JSON in protobuf's JSON mapping.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::usage(format!("json: {e}")))?;
    println!("{text}");
    Ok(())
}

async fn connect(t: &Target) -> Result<Client, CliError> {
    let channel = tonic::transport::Endpoint::from_shared(t.addr.clone())
        .map_err(|e| CliError::usage(format!("bad --addr: {e}")))?
        .connect()
        .await
        .map_err(|e| CliError {
            exit: exit_code(tonic::Code::Unavailable),
            message: format!("cannot connect to {}: {e}", t.addr),
        })?;
    let token = match &t.token {
        Some(tok) => Some(format!("Bearer {tok}").parse().map_err(|_| CliError::usage("bad token"))?),
        None => None,
    };
    Ok(OrchestratorServiceClient::with_interceptor(channel, TokenInterceptor(token))
        .max_decoding_message_size(64 * 1024 * 1024))
}

fn request(t: &TaskArgs) -> Result<pb::DeliberateRequest, CliError> {
    let mut tests = Vec::with_capacity(t.tests.len());
    for path in &t.tests {
        let code =
            std::fs::read_to_string(path).map_err(|e| CliError::usage(format!("--tests {}: {e}", path.display())))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("py");
        tests.push(pb::TestSuite {
            name: path.file_stem().and_then(|s| s.to_str()).unwrap_or("tests").to_owned(),
            language: if ext == "py" { "python".into() } else { ext.to_owned() },
            code,
            timeout_seconds: 0,
        });
    }
    Ok(pb::DeliberateRequest {
        task_description: t.task.clone(),
        role: t.role.clone(),
        constraints: Some(pb::TaskConstraints {
            rubric: t.rubric.clone(),
            requirements: t.requirements.clone(),
            timeout_seconds: t.timeout_seconds,
            tests,
            ..Default::default()
        }),
        rounds: t.rounds,
        num_agents: t.num_agents,
        strategy: t.strategy.clone(),
        max_calls: t.max_calls,
        max_tokens_total: t.max_tokens_total,
    })
}

fn print_result(r: &pb::DeliberationResult) {
    let p = r.proposal.clone().unwrap_or_default();
    let c = r.checks.clone().unwrap_or_default();
    println!("#{} {}  score {:.3}  all_passed {}", r.rank, p.author_id, r.score, c.all_passed);
    if let Some(pol) = &c.policy {
        println!("   [{}] policy: {}", if pol.passed { "PASS" } else { "FAIL" }, pol.message);
    }
    for a in &c.additional_checks {
        println!("   [{}] {}: {:.2} {}", if a.passed { "PASS" } else { "FAIL" }, a.check_type, a.score, a.message);
    }
    let text: String = p.content.chars().take(300).collect();
    println!("   {} ({} revision(s))", text.replace('\n', "\n   "), p.revisions.len());
}

fn print_metadata(m: &Option<pb::OrchestratorMetadata>) {
    if let Some(m) = m {
        if let Some(u) = &m.usage {
            println!("tokens: {} prompt + {} completion = {}", u.prompt_tokens, u.completion_tokens, u.total_tokens);
        }
        for f in &m.failures {
            println!("FAILED {} ({} round {}): {}", f.agent_id, f.phase, f.round, f.reason);
        }
        if let Some(reason) = m.tags.get("selection_reason") {
            let tag = |k: &str| m.tags.get(k).cloned().unwrap_or_default();
            println!("selection: {reason} (tie_break {}, tied {})", tag("tie_break"), tag("tied"));
        }
        println!("version {} execution {}", m.orchestrator_version, m.execution_id);
    }
}

async fn client(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Serve { .. } => unreachable!("handled in main"),
        Command::Deliberate { target, task } => {
            let r = connect(&target).await?.deliberate(request(&task)?).await?.into_inner();
            if target.json {
                return print_json(&r);
            }
            for res in &r.results {
                print_result(res);
            }
            print_metadata(&r.metadata);
            println!("winner: {}  ({} ms)", r.winner_id, r.duration_ms);
        }
        Command::Orchestrate { target, task } => {
            let d = request(&task)?;
            let req = pb::OrchestrateRequest {
                task_id: String::new(),
                task_description: d.task_description,
                role: d.role,
                constraints: d.constraints,
                options: Some(pb::OrchestratorOptions {
                    enable_peer_review: true,
                    deliberation_rounds: task.rounds,
                    enable_architect_selection: true,
                    custom_params: Default::default(),
                }),
            };
            let r = connect(&target).await?.orchestrate(req).await?.into_inner();
            if target.json {
                return print_json(&r);
            }
            for res in &r.candidates {
                print_result(res);
            }
            print_metadata(&r.metadata);
            let w = r.winner.and_then(|w| w.proposal).map(|p| p.author_id).unwrap_or_default();
            println!("winner: {w}  reason: {}  ({} ms)", r.selection_reason, r.duration_ms);
        }
        Command::Status { target } => {
            let r =
                connect(&target).await?.get_status(pb::GetStatusRequest { include_stats: true }).await?.into_inner();
            if target.json {
                return print_json(&r);
            }
            println!("status: {}  uptime: {} s", r.status, r.uptime_seconds);
            if let Some(s) = r.stats {
                println!(
                    "deliberations: {}  orchestrations: {}  avg: {:.1} ms  active councils: {}  per role: {:?}",
                    s.total_deliberations,
                    s.total_orchestrations,
                    s.avg_deliberation_time_ms,
                    s.active_councils,
                    s.role_counts
                );
            }
        }
        Command::Councils { target, role } => {
            let r = connect(&target)
                .await?
                .list_councils(pb::ListCouncilsRequest { role_filter: role, include_agents: true })
                .await?
                .into_inner();
            if target.json {
                return print_json(&r);
            }
            for c in r.councils {
                println!("{} ({}) {} agents, model {:?}, {}", c.council_id, c.role, c.num_agents, c.model, c.status);
                for a in c.agents {
                    println!("   {} {}", a.agent_id, a.capabilities.map(|c| c.model_profile).unwrap_or_default());
                }
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, allow_test_agents } => {
            // Structured logs: LOG_FORMAT=json for one JSON object per line (spans included).
            let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
            if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
                tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).init();
            } else {
                // Colour codes only for a terminal: log collectors get plain text.
                use std::io::IsTerminal;
                tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal())
                    .init();
            }
            let mut cfg = match &config {
                Some(p) => match ServerConfig::from_file(p) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return std::process::ExitCode::from(2);
                    }
                },
                None => ServerConfig::default(),
            };
            if let Err(e) = cfg.apply_process_env().and_then(|()| cfg.validate()) {
                eprintln!("error: {e}");
                return std::process::ExitCode::from(2);
            }
            cfg.core.allow_test_agents |= allow_test_agents;
            match serve(cfg, ServeOptions { listener: None }, shutdown_signal()).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        cmd => match client(cmd).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}", e.message);
                std::process::ExitCode::from(e.exit)
            }
        },
    }
}
