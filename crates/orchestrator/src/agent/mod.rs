//! Running agent CLIs: the process control that contains them (`process`) and the parsers of
//! their output formats (`events`). Only this room spawns agents.

pub mod adapter;
pub mod budget;
pub mod check;
pub mod events;
pub mod group;
pub(crate) mod locks;
pub mod process;
pub mod reconcile;
pub mod runner;
pub(crate) mod tree;
pub mod worktree;
pub mod worktrees;

/// `f` of every item, on every core, in the items' order.
pub(crate) fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(items.len().max(1));
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, item)| (i, f(item)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (i, result) in done {
                        slots[i] = Some(result);
                    }
                }
                // Every slot is filled unless `f` panicked; then so does the caller.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}
