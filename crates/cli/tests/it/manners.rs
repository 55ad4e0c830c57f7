//! Terminal manners: colour only where it belongs (`--color`, `NO_COLOR`, a terminal), and tables
//! as wide as their data, lined up in terminal cells.

use std::process::Command;

use crate::support::{BIN, TestRepo, isolate, with_terminal_stderr};

const RED_ERROR: &str = "\x1b[1;31merror\x1b[0m";
const GREEN_FIX: &str = "\x1b[1;32mfix:\x1b[0m";

/// A repository whose `phase next` has findings (the brief's placeholders).
fn repo_with_findings() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "Colour me"]).ok();
    repo
}

#[test]
fn findings_are_coloured_only_when_asked_or_on_a_terminal() {
    let repo = repo_with_findings();
    // Into a pipe: plain by default and with never; coloured with always, even with NO_COLOR.
    for (flag, coloured) in [
        (None, false),
        (Some("never"), false),
        (Some("always"), true),
    ] {
        let mut args = vec!["phase", "next"];
        let flag = flag.map(|f| format!("--color={f}"));
        if let Some(flag) = &flag {
            args.insert(0, flag);
        }
        let run = repo.run(&args).code(1);
        assert!(
            run.raw_stdout.contains("error[scaffold/placeholder]") || coloured,
            "{flag:?}"
        );
        assert_eq!(
            run.raw_stdout.contains(RED_ERROR),
            coloured,
            "{flag:?}: {}",
            run.raw_stdout
        );
        assert_eq!(run.raw_stdout.contains(GREEN_FIX), coloured, "{flag:?}");
        if !coloured {
            assert!(
                !run.raw_stdout.contains('\x1b'),
                "{flag:?}: {}",
                run.raw_stdout
            );
        }
    }
    // `--color WHEN` as two words, and after the subcommand (it is global).
    let run = repo.run(&["phase", "next", "--color", "always"]).code(1);
    assert!(run.raw_stdout.contains(RED_ERROR), "{}", run.raw_stdout);
}

/// What a terminal shows on stderr for an error, with `NO_COLOR` set or not and `args` first.
fn error_on_a_terminal(no_color: bool, args: &[&str]) -> String {
    let repo = TestRepo::new();
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd);
    cmd.current_dir(&repo.root)
        .args(args)
        .args(["task", "list"]);
    if !no_color {
        cmd.env_remove("NO_COLOR");
    }
    cmd.env("TERM", "xterm");
    let (mut child, screen) = with_terminal_stderr(cmd);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(2));
    screen.join().expect("the terminal")
}

#[test]
fn errors_on_a_terminal_follow_no_color_and_the_flag() {
    let cases = [
        (false, &[][..], true),
        (true, &[][..], false),
        (false, &["--color=never"][..], false),
        (true, &["--color=always"][..], true),
    ];
    for (no_color, args, coloured) in cases {
        let screen = error_on_a_terminal(no_color, args);
        assert!(screen.contains("tasks/ does not exist"), "{screen}");
        assert_eq!(
            screen.contains(RED_ERROR),
            coloured,
            "NO_COLOR {no_color}, {args:?}: {screen:?}"
        );
    }
}

#[test]
fn help_is_styled_only_when_asked() {
    let help = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd);
        let out = cmd.args(args).arg("--help").output().expect("spawn");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(!help(&["task"]).contains('\x1b'));
    assert!(help(&["--color=always", "task"]).contains("\x1b[1m"));
    assert!(!help(&["--color=never", "task"]).contains('\x1b'));
}

/// Terminal cells of `text`: the emoji and CJK used below take two.
fn cells(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1F300..=0x1FAFF | 0x3000..=0x9FFF => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn task_list_is_as_wide_as_its_data_and_lines_up_emoji() {
    let repo = TestRepo::initialised();
    for title in ["Fix", "🚀 Launch", "日本語"] {
        repo.run(&["task", "new", title]).ok();
    }
    let list = repo.run(&["task", "list"]).ok().raw_stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    for line in &lines {
        assert!(
            cells(line) <= 70,
            "a row of {} cells: {line:?}",
            cells(line)
        );
    }
    // STATE starts in the same terminal column on every row.
    let column = |line: &str, word: &str| cells(&line[..line.find(word).expect(word)]);
    let at = column(lines[0], "STATE");
    for line in &lines[1..] {
        assert_eq!(column(line, "ready"), at, "{list}");
    }
}
