//! The builders stage of a wave: the plan's builders side by side (files locked, one retry),
//! then the agents gate (all ended completed, locks released) and the builders' evidence gate
//! (each changed a file its sub-task names).

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::agent::group::{self, Member, Options, Progress, Ran};
use crate::agent::runner::Request;
use crate::agent::tree;
use crate::flows::plan;
use crate::flows::{ended, fit, waves};
use crate::repo::Repo;

use super::Wave;

impl Wave<'_> {
    /// Run the builders and judge what they did.
    pub(super) fn builders(&mut self) -> Result<bool> {
        self.before = tree::dirty(&self.at.root)?;
        self.base = Repo::open(&self.at.root)?.head();
        let mut members = self.members()?;
        let started = Instant::now();
        let ran = self.run_group(&mut members);
        self.tally(&members, &ran);
        if !self.agents_gate(&members, &ran, started)? {
            return Ok(false);
        }
        self.credit(&members, &ran);
        Ok(self.evidence_gate(&members, &ran))
    }

    /// The plan's builders as a group's members: their prompts fitted into the run folder, the
    /// first one given the worktree's setup, an interrupted session continued (`--resume`).
    fn members(&mut self) -> Result<Vec<Member>> {
        let mut setup = self.setup.take();
        let (task, worktree) = (self.at.task, &self.at.worktree);
        self.plan
            .builders
            .iter()
            .map(|builder| {
                let name = builder.sub.label();
                let prompt = fit(
                    builder.prompt.clone(),
                    &self.flow.dir,
                    &format!("builder-{name}"),
                )?;
                let files = builder.sub.files.clone();
                Ok(Member {
                    req: Request {
                        own_files: Some(files.clone()),
                        worktree: Some(worktree.clone()),
                        // The worktree's setup runs once, with the first builder of the flow.
                        setup: setup.take(),
                        resume_thread: self.at.threads.get(&name).cloned(),
                        ..Request::new(&builder.role, Some(task.id), prompt)
                    },
                    name,
                    files,
                })
            })
            .collect()
    }

    /// The members as a group, with live progress.
    fn run_group(&self, members: &mut [Member]) -> Ran {
        let config = &self.at.ctx.config;
        let progress = Progress::new(members.iter().map(|m| m.name.clone()).collect(), true);
        group::run(
            self.at.runner,
            members,
            Options {
                jobs: config.parallelism as usize,
                retries: 1,
                wait: Some(Duration::from_secs(config.agent_timeout_s * 2)),
            },
            &progress,
        )
    }

    /// Retries, every attempt's run and tokens, and the sessions continued (when the builder's
    /// adapter could), into the report.
    fn tally(&mut self, members: &[Member], ran: &Ran) {
        self.report.retries += ran.attempts.len().saturating_sub(members.len()) as u32;
        for (_, _, attempt) in &ran.attempts {
            if let Ok(done) = attempt {
                self.account(done);
            }
        }
        for (member, result) in members.iter().zip(&ran.last) {
            let resumed = result
                .as_ref()
                .ok()
                .and_then(|d| d.record.agent.as_ref())
                .and_then(|a| a.resumed_thread.clone());
            if let Some(thread) = resumed {
                self.report
                    .resumed_threads
                    .push((member.name.clone(), thread));
            }
        }
    }

    /// Every builder ended completed, and this process holds no lock (the group releases each
    /// when its agent ends).
    fn agents_gate(&mut self, members: &[Member], ran: &Ran, started: Instant) -> Result<bool> {
        let failed: Vec<String> = members
            .iter()
            .zip(&ran.last)
            .filter(|(_, r)| !group::is_completed(r))
            .map(|(m, r)| match r {
                Ok(done) => format!("{} {}", m.name, ended(done)),
                Err(err) => format!("{} could not run: {err}", m.name),
            })
            .collect();
        let mut ours = 0;
        crate::agent::locks::update(&self.at.ctx.repo.root, |file| {
            ours = file
                .locks
                .iter()
                .filter(|l| l.pid == std::process::id())
                .count();
            Ok(())
        })?;
        let passed = failed.is_empty() && ours == 0;
        let detail = if failed.is_empty() {
            "every builder completed, every lock released".to_owned()
        } else {
            failed.join("; ")
        };
        Ok(self.gate(plan::AGENTS, started, passed, detail))
    }

    /// The files each builder's run changed, into the report.
    fn credit(&mut self, members: &[Member], ran: &Ran) {
        for (member, result) in members.iter().zip(&ran.last) {
            if let Ok(done) = result {
                self.report
                    .files
                    .push((member.name.clone(), done.record.files.clone()));
            }
        }
    }

    /// A sub-task is ticked only with evidence, as the implement gate will ask: its builder's
    /// run changed a file its `Files:` line names.
    fn evidence_gate(&mut self, members: &[Member], ran: &Ran) -> bool {
        let started = Instant::now();
        let idle: Vec<String> = members
            .iter()
            .zip(&ran.last)
            .filter(|(member, result)| {
                result.as_ref().is_ok_and(|done| {
                    !done
                        .record
                        .files
                        .iter()
                        .any(|f| waves::overlaps(&member.files, std::slice::from_ref(f)))
                })
            })
            .map(|(member, _)| format!("{} ({})", member.name, member.files.join(", ")))
            .collect();
        let detail = if idle.is_empty() {
            "every builder changed a file its sub-task names".to_owned()
        } else {
            format!(
                "the builder changed none of its sub-task's files, so it is not checked off: {}",
                idle.join("; ")
            )
        };
        self.gate(plan::EVIDENCE, started, idle.is_empty(), detail)
    }
}
