//! The MCP server (SPEC §9): the governance state of one repository, served over stdio to the
//! agents the toolkit runs (Codex CLI, Claude Code, any MCP client).
//!
//! Every tool calls the same library function as the CLI command it mirrors
//! (`codex_orchestrator::answers`), and its structured result is that command's `--json`. The
//! read tools are always there; the write tools (`phase_next`, `record_note`) only when the
//! server is started with `--write`, and each write is a run attributed to the agent run that
//! asked (`XTASK_RUN` in the server's environment) or, started by hand, to the person. Nothing
//! that approves, overrides or widens an agent's rights is served, whatever the flags.
//!
//! A tool that fails (a bad task id, a path outside the repository, a broken brief) answers
//! with an error result naming the problem and the fix; the server itself never stops for it.

use std::path::PathBuf;

use codex_orchestrator::answers;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::repo::Repo;
use codex_orchestrator::runs::RequestedBy;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData as McpError, Peer, RoleServer, ServerHandler, tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

mod memo;
mod resources;

/// The tools that change state; served only with `--write`.
pub const WRITE_TOOLS: &[&str] = &["phase_next", "record_note"];

/// What the server says about itself to a client (and to the model, through it).
const INSTRUCTIONS: &str = "Before you finish: \
call gate_check to see what the task's current phase gate still wants, and spec_guard_check on the \
paths you changed to see whether a trigger area's spec blocks them. task_next names the task to work \
on. Approvals, spec-guard overrides and full-access runs are never available here: a person gives \
those. Resources: governance://phases (each phase's gate) and each task's artifacts.";

/// The server for one repository.
#[derive(Clone)]
pub struct Server {
    root: PathBuf,
    write: bool,
    /// The agent run this server acts for: `XTASK_RUN` (`<run id>/<pid>`) when an agent started it.
    agent_run: Option<String>,
    /// Answers kept while nothing under tasks/ changes.
    memo: std::sync::Arc<std::sync::Mutex<memo::Memo>>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskArg {
    /// A task id (`T-0007-login-rate-limit`) or its number (`T-7`, `7`); omit it for the next
    /// actionable task.
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredTask {
    /// A task id (`T-0007-login-rate-limit`) or its number (`T-7`, `7`).
    pub id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathsArg {
    /// Repository-relative paths (files or directories) you changed or mean to change, like
    /// `src/auth/login.rs`; `..` may not climb out of the repository.
    pub paths: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// Also check the commits of a range, like `origin/main..HEAD`.
    #[serde(default)]
    pub range: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunArg {
    /// A run id as `runs_list` gives it, like `R-20261123T101500Z-1a2b`.
    pub id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteArg {
    /// What you want a reviewer of your run to know, in plain text (at most 4,000 characters).
    pub text: String,
}

#[tool_router]
impl Server {
    /// The server for the repository containing `dir`; `write` serves the write tools too.
    pub fn new(dir: &std::path::Path, write: bool) -> anyhow::Result<Server> {
        let repo = Repo::at(dir)?;
        let mut tool_router = Self::tool_router();
        if !write {
            for name in WRITE_TOOLS {
                tool_router.remove_route(name);
            }
        }
        let agent_run = std::env::var(codex_orchestrator::agent::runner::MARKER)
            .ok()
            .and_then(|v| v.split('/').next().map(str::to_owned))
            .filter(|v| !v.is_empty());
        Ok(Server {
            root: repo.root,
            write,
            agent_run,
            memo: std::sync::Arc::default(),
            tool_router,
        })
    }

    /// The next actionable task (the one to work on now) and how many tasks there are: `task next --json`.
    #[tool]
    async fn task_next(&self, Parameters(_): Parameters<NoArgs>) -> CallToolResult {
        self.kept(|ctx, memo| memo.answer("task_next", || json(answers::task_next(ctx)?)))
            .await
    }

    /// Every task with its phase, owner, priority and what blocks it: `{"tasks": …}` holding
    /// `task list --json` (a structured result is an object).
    #[tool]
    async fn task_list(&self, Parameters(_): Parameters<NoArgs>) -> CallToolResult {
        self.kept(|ctx, memo| {
            memo.answer("task_list", || {
                Ok(serde_json::json!({ "tasks": answers::task_list(ctx)? }))
            })
        })
        .await
    }

    /// One task's full status (phase, artifacts, approvals, history, open blockers), or every
    /// task's without an id: `phase status [ID] --json`.
    #[tool]
    async fn phase_status(&self, Parameters(args): Parameters<TaskArg>) -> CallToolResult {
        self.kept(move |ctx, memo| match &args.id {
            Some(id) => json(answers::phase_status(ctx, id)?),
            None => memo.answer("phase_status", || json(answers::phase_status_all(ctx)?)),
        })
        .await
    }

    /// What the gate of a task's current phase still wants, judged now without moving it: every
    /// unmet criterion with file, line and fix (`phase check [ID] --json`). Call it before you
    /// say you are done.
    #[tool]
    async fn gate_check(&self, Parameters(args): Parameters<TaskArg>) -> CallToolResult {
        self.kept(move |ctx, memo| {
            let today = codex_orchestrator::ctx::today(None)?;
            let tasks = || memo.tree(|| answers::TaskTree::read(ctx));
            json(answers::gate_check_on(
                ctx,
                args.id.as_deref(),
                today,
                tasks,
            )?)
        })
        .await
    }

    /// Which trigger areas the given paths fall in and whether each area's spec is in order
    /// (present, approved, fresh), with the fix when not: what the pre-commit hook will say
    /// (`spec-guard <paths> --json`). Call it on the paths you changed before you finish.
    #[tool]
    async fn spec_guard_check(&self, Parameters(args): Parameters<PathsArg>) -> CallToolResult {
        self.answer(move |ctx| {
            let paths = args
                .paths
                .iter()
                .map(|p| answers::repo_relative(p).map(String::into_bytes))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let today = codex_orchestrator::ctx::today(None)?;
            json(answers::spec_guard_check(ctx, &paths, today)?)
        })
        .await
    }

    /// The CI audit of the repository (index, specs, run records, lint and secret rules), and
    /// of a commit range when given: `audit --format json`.
    #[tool]
    async fn audit(&self, Parameters(args): Parameters<AuditArgs>) -> CallToolResult {
        self.answer(move |ctx| {
            let today = codex_orchestrator::ctx::today(None)?;
            let options = codex_orchestrator::audit::Options {
                range: args.range.clone(),
                today,
                progress: false,
            };
            let result = codex_orchestrator::audit::run(ctx, &options)?;
            Ok(codex_orchestrator::audit::format::json(&result))
        })
        .await
    }

    /// Every run recorded under .runs/, oldest first: `{"runs": …}` holding `runs list --json`.
    #[tool]
    async fn runs_list(&self, Parameters(_): Parameters<NoArgs>) -> CallToolResult {
        self.answer(|ctx| Ok(serde_json::json!({ "runs": answers::runs_list(ctx)? })))
            .await
    }

    /// One run's record and events (with the notes its agent recorded): `runs show ID --json`.
    #[tool]
    async fn run_show(&self, Parameters(args): Parameters<RunArg>) -> CallToolResult {
        self.answer(move |ctx| json(answers::run_show(ctx, &args.id)?))
            .await
    }

    /// The PRD rubric's score of a task's prd.md, every lost point with its line, and whether
    /// it reaches the gate's minimum: `score tasks/<ID>/prd.md --json`.
    #[tool]
    async fn score_prd(&self, Parameters(args): Parameters<RequiredTask>) -> CallToolResult {
        self.answer(move |ctx| json(answers::score_task_prd(ctx, &args.id)?))
            .await
    }

    /// (Write; only with `--write`.) Check the gate of the task's phase and, when it passes,
    /// move the task on, recorded as a run attributed to your agent run: `phase next [ID] --json`.
    /// Approving artifacts, overriding spec-guard and full-access runs are never available here.
    #[tool]
    async fn phase_next(
        &self,
        Parameters(args): Parameters<TaskArg>,
        peer: Peer<RoleServer>,
    ) -> CallToolResult {
        let by = self.requested_by(&peer);
        self.answer(move |ctx| {
            let today = codex_orchestrator::ctx::today(None)?;
            Ok(answers::phase_next(ctx, args.id.as_deref(), today, Some(by))?.json())
        })
        .await
    }

    /// (Write; only with `--write`.) Record a note for the reviewers of your run: a run of its
    /// own, listed among your agent run's events by `runs show`.
    #[tool]
    async fn record_note(
        &self,
        Parameters(args): Parameters<NoteArg>,
        peer: Peer<RoleServer>,
    ) -> CallToolResult {
        let by = self.requested_by(&peer);
        self.answer(move |ctx| {
            let run = answers::record_note(ctx, &args.text, by)?;
            Ok(serde_json::json!({ "run": run }))
        })
        .await
    }
}

impl Server {
    /// Who asks, for a write's run record.
    fn requested_by(&self, peer: &Peer<RoleServer>) -> RequestedBy {
        RequestedBy {
            via: "mcp".to_owned(),
            agent_run: self.agent_run.clone(),
            client: peer.peer_info().map(|info| info.client_info.name.clone()),
        }
    }

    /// [`Server::answer`] for answers that depend on `tasks/` alone: `answer` may keep them in
    /// the memo, which is brought up to date first.
    async fn kept<F>(&self, answer: F) -> CallToolResult
    where
        F: FnOnce(&Ctx, &mut memo::Memo) -> anyhow::Result<Value> + Send + 'static,
    {
        let memo = self.memo.clone();
        let root = self.root.clone();
        self.answer(move |ctx| {
            // A panic in an earlier call left the memo as it was: refresh decides anew.
            let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
            memo.refresh(&root);
            answer(ctx, &mut memo)
        })
        .await
    }

    /// Run `answer` on the repository, on the blocking pool (a slow answer does not stall the
    /// protocol), and make its result or error a tool result. Messages name commands as this
    /// repository runs them.
    async fn answer<F>(&self, answer: F) -> CallToolResult
    where
        F: FnOnce(&Ctx) -> anyhow::Result<Value> + Send + 'static,
    {
        let root = self.root.clone();
        let done = tokio::task::spawn_blocking(move || {
            let ctx = Ctx::at(Repo::at(&root)?)?;
            answer(&ctx)
        })
        .await;
        match done {
            Ok(Ok(value)) => {
                let text = codex_orchestrator::output::spelled(value.to_string());
                CallToolResult::structured(serde_json::from_str(&text).unwrap_or(value))
            }
            Ok(Err(err)) => CallToolResult::error(vec![ContentBlock::text(
                codex_orchestrator::output::spelled(format!("error: {err:#}")),
            )]),
            Err(err) => CallToolResult::error(vec![ContentBlock::text(format!(
                "error: the tool failed inside the server ({err}); nothing was written. Please report it."
            ))]),
        }
    }
}

/// A value as JSON.
fn json(value: impl serde::Serialize) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(value)?)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let mut instructions = format!(
            "Repository: {} (codex-orchestrator {}). {INSTRUCTIONS}",
            self.root.display(),
            env!("CARGO_PKG_VERSION")
        );
        if !self.write {
            instructions.push_str(" This server is read-only (started without --write).");
        }
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(
            "codex-orchestrator",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(instructions)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let root = self.root.clone();
        let listed = tokio::task::spawn_blocking(move || resources::list(&root))
            .await
            .map_err(|err| McpError::internal_error(err.to_string(), None))?;
        Ok(ListResourcesResult::with_all_items(
            listed
                .into_iter()
                .map(|r| {
                    Resource::new(r.uri, r.name)
                        .with_description(r.description)
                        .with_mime_type(r.mime)
                })
                .collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let root = self.root.clone();
        let uri = request.uri.clone();
        let read = tokio::task::spawn_blocking(move || resources::read(&root, &uri))
            .await
            .map_err(|err| McpError::internal_error(err.to_string(), None))?;
        match read {
            Ok((text, mime)) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, request.uri.clone()).with_mime_type(mime),
            ])
            .into()),
            Err(err) => Err(McpError::resource_not_found(
                format!("{err:#}"),
                Some(serde_json::json!({ "uri": request.uri })),
            )),
        }
    }
}

/// Serve the repository containing `dir` (default: the current directory) on stdin and stdout
/// until the client closes the stream.
pub fn serve(dir: Option<PathBuf>, write: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    use rmcp::ServiceExt;
    // stdout carries the protocol: nothing else may print there.
    codex_orchestrator::output::results_to_stderr();
    codex_orchestrator::lints::Secrets::mask_records();
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let server = Server::new(&dir, write)?;
    let command = codex_orchestrator::adopt::command_in(&server.root);
    codex_orchestrator::output::set_command(command, codex_orchestrator_cli::flags::COMMANDS);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    runtime.block_on(async move {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP handshake failed")?;
        running.waiting().await.context("serving")?;
        anyhow::Ok(())
    })?;
    // A blocking stdin read cannot be cancelled: leave without waiting for it.
    runtime.shutdown_background();
    Ok(())
}
