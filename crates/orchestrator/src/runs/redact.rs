//! Redaction of secrets before anything reaches a run record.
//!
//! A value is treated as secret when its name looks like one (`TOKEN`, `SECRET`, `PASSWORD`,
//! `API_KEY`, `CREDENTIAL`, `AUTH`, a `_KEY` suffix …): `NAME=value` arguments, `--token value`
//! and `--token=value` flags. The name stays, so a reviewer sees that a secret was passed.

const REDACTED: &str = "<redacted>";

/// True when a variable or flag name looks like it holds a secret.
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name
        .trim_start_matches('-')
        .to_ascii_uppercase()
        .replace('-', "_");
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "AUTH",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
        || upper.ends_with("_KEY")
        || upper == "KEY"
}

/// A command line with secret values replaced by `<redacted>`.
pub(crate) fn argv(args: &[String]) -> Vec<String> {
    let mut res = Vec::with_capacity(args.len());
    let mut redact_next = false;
    for arg in args {
        if redact_next {
            res.push(REDACTED.to_owned());
            redact_next = false;
            continue;
        }
        if let Some((name, _)) = arg.split_once('=')
            && looks_secret(name)
            && !name.contains(' ')
        {
            res.push(format!("{name}={REDACTED}"));
            continue;
        }
        if arg.starts_with("--") && looks_secret(arg) {
            redact_next = true;
        }
        res.push(arg.clone());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_names_kept() {
        let args: Vec<String> = [
            "xtask",
            "run",
            "--token",
            "abc",
            "--api-key=xyz",
            "OPENAI_API_KEY=sk-1",
            "PATH=/bin",
            "--title",
            "keyboard",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            argv(&args),
            vec![
                "xtask",
                "run",
                "--token",
                "<redacted>",
                "--api-key=<redacted>",
                "OPENAI_API_KEY=<redacted>",
                "PATH=/bin",
                "--title",
                "keyboard"
            ]
        );
        assert!(
            looks_secret("GITHUB_TOKEN")
                && looks_secret("AWS_SECRET_ACCESS_KEY")
                && !looks_secret("HOME")
        );
    }
}
