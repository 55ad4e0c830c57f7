//! The stand-in agent follows its script: it writes, prints, reads its environment and exits
//! with the code it was told. (This test also makes `cargo test --workspace` build the binary
//! that the CLI's runner tests spawn.)

use std::process::Command;

#[test]
fn follows_its_script_and_exits_with_the_code_it_was_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prompt = "Do the work.\nagent: write out.txt one\\ntwo\nagent: print {\"type\":\"turn.started\"}\nagent: env SCRIPTED_TEST\nagent: exit 3\nagent: print never";
    let out = Command::new(env!("CARGO_BIN_EXE_scripted-agent"))
        .arg(prompt)
        .env("SCRIPTED_TEST", "yes")
        .current_dir(dir.path())
        .output()
        .expect("spawn the scripted agent");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"type\":\"turn.started\"}\nSCRIPTED_TEST=yes\n"
    );
    let written = std::fs::read_to_string(dir.path().join("out.txt")).expect("written file");
    assert_eq!(written, "one\ntwo");
}
