//! The task graph: `blocked_by` and `blocking` merged into one DAG, and the next actionable task.
//!
//! `A blocking: [B]` and `B blocked_by: [A]` mean the same edge; either side may declare it.
//! Actionable = not done and every blocker done. Order among actionable tasks (stable, documented
//! in `task next --help`): milestone in natural order (M2 before M10; none last), then priority
//! (0 first; none last), then id. Everything here is linear in tasks + edges.

use std::cmp::Ordering;
use std::collections::HashMap;

/// What the graph needs to know of one task.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub id: &'a str,
    pub blocked_by: &'a [String],
    pub blocking: &'a [String],
    pub done: bool,
    pub milestone: Option<&'a str>,
    pub priority: Option<u8>,
}

/// Why the edges do not form a DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphError {
    /// `task` names `missing` in `field`, and no such task exists.
    Unknown {
        task: String,
        field: &'static str,
        missing: String,
    },
    /// A cycle, as a path of ids that starts and ends with the same id.
    Cycle { path: Vec<String> },
}

/// The merged DAG over a slice of nodes (indices refer to that slice).
#[derive(Debug, Clone)]
pub struct Graph {
    /// For each task, the tasks that block it (deduplicated, sorted).
    blockers: Vec<Vec<usize>>,
}

struct ById<'a>(Vec<(&'a str, usize)>);

impl ById<'_> {
    fn get(&self, id: &str) -> Option<&usize> {
        let pos = self.0.binary_search_by(|(key, _)| (*key).cmp(id)).ok()?;
        Some(&self.0[pos].1)
    }
}

impl Graph {
    pub(crate) fn build(nodes: &[Node<'_>]) -> Result<Graph, GraphError> {
        // A sorted table and binary search: nodes usually come in id order already, so the sort
        // is linear, and this is cheaper than hashing every id in the dev profile.
        let mut table: Vec<(&str, usize)> = nodes
            .iter()
            .enumerate()
            .map(|(idx, n)| (n.id, idx))
            .collect();
        table.sort_unstable();
        let by_id = ById(table);
        let mut blockers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (idx, node) in nodes.iter().enumerate() {
            for other in node.blocked_by {
                let Some(&blocker) = by_id.get(other.as_str()) else {
                    return Err(unknown(node.id, "blocked_by", other));
                };
                blockers[idx].push(blocker);
            }
            for other in node.blocking {
                let Some(&blocked) = by_id.get(other.as_str()) else {
                    return Err(unknown(node.id, "blocking", other));
                };
                blockers[blocked].push(idx);
            }
        }
        for list in &mut blockers {
            list.sort_unstable();
            list.dedup();
        }
        let graph = Graph { blockers };
        if let Some(path) = graph.find_cycle(nodes) {
            return Err(GraphError::Cycle { path });
        }
        Ok(graph)
    }

    /// Indices of the blockers of `idx` that are not done.
    pub fn open_blockers(&self, nodes: &[Node<'_>], idx: usize) -> Vec<usize> {
        self.blockers[idx]
            .iter()
            .copied()
            .filter(|&b| !nodes[b].done)
            .collect()
    }

    /// Every actionable task, in the documented order.
    pub fn actionable(&self, nodes: &[Node<'_>]) -> Vec<usize> {
        let mut res: Vec<usize> = (0..nodes.len())
            .filter(|&idx| !nodes[idx].done && self.blockers[idx].iter().all(|&b| nodes[b].done))
            .collect();
        res.sort_by(|&a, &b| order(&nodes[a], &nodes[b]));
        res
    }

    /// The next actionable task.
    pub fn next(&self, nodes: &[Node<'_>]) -> Option<usize> {
        (0..nodes.len())
            .filter(|&idx| !nodes[idx].done && self.blockers[idx].iter().all(|&b| nodes[b].done))
            .min_by(|&a, &b| order(&nodes[a], &nodes[b]))
    }

    /// Kahn's algorithm; when nodes remain, walk blocker edges among them to a repeated node.
    fn find_cycle(&self, nodes: &[Node<'_>]) -> Option<Vec<String>> {
        let n_tasks = self.blockers.len();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n_tasks];
        let mut n_blockers: Vec<usize> = vec![0; n_tasks];
        for (idx, list) in self.blockers.iter().enumerate() {
            n_blockers[idx] = list.len();
            for &b in list {
                dependents[b].push(idx);
            }
        }
        let mut ready: Vec<usize> = (0..n_tasks).filter(|&i| n_blockers[i] == 0).collect();
        let mut n_done = 0;
        while let Some(idx) = ready.pop() {
            n_done += 1;
            for &d in &dependents[idx] {
                n_blockers[d] -= 1;
                if n_blockers[d] == 0 {
                    ready.push(d);
                }
            }
        }
        if n_done == n_tasks {
            return None;
        }
        // Start from the smallest id still blocked, follow its smallest-id remaining blocker.
        let remaining = |i: usize| n_blockers[i] > 0;
        let start = (0..n_tasks)
            .filter(|&i| remaining(i))
            .min_by_key(|&i| nodes[i].id)?;
        let mut seen_at: HashMap<usize, usize> = HashMap::new();
        let mut walk = vec![start];
        let mut current = start;
        loop {
            seen_at.insert(current, walk.len() - 1);
            let next = self.blockers[current]
                .iter()
                .copied()
                .filter(|&b| remaining(b))
                .min_by_key(|&b| nodes[b].id)?;
            if let Some(&pos) = seen_at.get(&next) {
                let mut cycle: Vec<String> = walk[pos..]
                    .iter()
                    .map(|&i| nodes[i].id.to_owned())
                    .collect();
                // Print in "blocks" direction: A → B means A must be done before B.
                cycle.reverse();
                let first = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, id)| id.as_str())
                    .map_or(0, |(i, _)| i);
                cycle.rotate_left(first);
                cycle.push(cycle[0].clone());
                return Some(cycle);
            }
            walk.push(next);
            current = next;
        }
    }
}

fn unknown(task: &str, field: &'static str, missing: &str) -> GraphError {
    GraphError::Unknown {
        task: task.to_owned(),
        field,
        missing: missing.to_owned(),
    }
}

/// Milestone (natural order, none last), priority (none last), id.
pub(crate) fn order(a: &Node<'_>, b: &Node<'_>) -> Ordering {
    let milestone = match (a.milestone, b.milestone) {
        (Some(x), Some(y)) => natural_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let priority = match (a.priority, b.priority) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    milestone.then(priority).then_with(|| a.id.cmp(b.id))
}

/// Compare strings with runs of digits compared as numbers: `M2` < `M10`.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let len_a = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let len_b = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (num_a, num_b) = (trim_zeros(&a[..len_a]), trim_zeros(&b[..len_b]));
                let ord = num_a
                    .len()
                    .cmp(&num_b.len())
                    .then_with(|| num_a.cmp(num_b))
                    .then(len_a.cmp(&len_b));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[len_a..];
                b = &b[len_b..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Spec {
        id: &'static str,
        blocked_by: Vec<String>,
        blocking: Vec<String>,
        done: bool,
        milestone: Option<&'static str>,
        priority: Option<u8>,
    }

    fn spec(id: &'static str) -> Spec {
        Spec {
            id,
            blocked_by: vec![],
            blocking: vec![],
            done: false,
            milestone: None,
            priority: None,
        }
    }

    fn nodes(specs: &[Spec]) -> Vec<Node<'_>> {
        specs
            .iter()
            .map(|s| Node {
                id: s.id,
                blocked_by: &s.blocked_by,
                blocking: &s.blocking,
                done: s.done,
                milestone: s.milestone,
                priority: s.priority,
            })
            .collect()
    }

    #[test]
    fn both_edge_directions_block() {
        let mut a = spec("T-0001-a");
        a.blocking = vec!["T-0002-b".into()];
        let mut c = spec("T-0003-c");
        c.blocked_by = vec!["T-0002-b".into()];
        let specs = vec![a, spec("T-0002-b"), c];
        let nodes = nodes(&specs);
        let graph = Graph::build(&nodes).unwrap();
        assert_eq!(graph.actionable(&nodes), vec![0]);
        assert_eq!(graph.open_blockers(&nodes, 1), vec![0]);
    }

    #[test]
    fn order_is_milestone_priority_id() {
        let mut specs = vec![
            spec("T-0001-a"),
            spec("T-0002-b"),
            spec("T-0003-c"),
            spec("T-0004-d"),
            spec("T-0005-e"),
        ];
        specs[0].milestone = Some("M10");
        specs[1].milestone = Some("M2");
        specs[1].priority = Some(5);
        specs[2].milestone = Some("M2");
        specs[2].priority = Some(1);
        specs[3].priority = Some(0);
        specs[4].done = true;
        let nodes = nodes(&specs);
        let graph = Graph::build(&nodes).unwrap();
        assert_eq!(graph.actionable(&nodes), vec![2, 1, 0, 3]);
        assert_eq!(graph.next(&nodes), Some(2));
    }

    #[test]
    fn cycles_are_reported_as_a_path() {
        let mut a = spec("T-0001-a");
        a.blocked_by = vec!["T-0003-c".into()];
        let mut b = spec("T-0002-b");
        b.blocked_by = vec!["T-0001-a".into()];
        let mut c = spec("T-0003-c");
        c.blocking = vec![];
        c.blocked_by = vec!["T-0002-b".into()];
        let d = spec("T-0004-d");
        let specs = vec![a, b, c, d];
        let err = Graph::build(&nodes(&specs)).unwrap_err();
        assert_eq!(
            err,
            GraphError::Cycle {
                path: vec![
                    "T-0001-a".into(),
                    "T-0002-b".into(),
                    "T-0003-c".into(),
                    "T-0001-a".into()
                ]
            }
        );
    }

    #[test]
    fn self_loop_and_unknown_ids_are_errors() {
        let mut a = spec("T-0001-a");
        a.blocking = vec!["T-0001-a".into()];
        assert_eq!(
            Graph::build(&nodes(&[a])).unwrap_err(),
            GraphError::Cycle {
                path: vec!["T-0001-a".into(), "T-0001-a".into()]
            }
        );
        let mut b = spec("T-0002-b");
        b.blocked_by = vec!["T-0009-nope".into()];
        assert_eq!(
            Graph::build(&nodes(&[b])).unwrap_err(),
            GraphError::Unknown {
                task: "T-0002-b".into(),
                field: "blocked_by",
                missing: "T-0009-nope".into()
            }
        );
    }

    #[test]
    fn natural_order_compares_numbers() {
        let mut v = vec!["M10", "M2", "M1", "beta", "alpha", "M02", "M2a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        // Equal numbers compare the rest first; leading zeros only break a full tie.
        assert_eq!(v, vec!["M1", "M2", "M2a", "M02", "M10", "alpha", "beta"]);
    }
}
