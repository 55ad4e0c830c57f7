//! `audit --format sarif` validated against the SARIF 2.1.0 JSON schema shipped in
//! tests/data/ (where it comes from: tests/data/README.md).

use boon::{Compiler, SchemaIndex, Schemas};
use expect_test::expect;
use serde_json::{Value, json};

use crate::audit::{no_verify, repo};

const SCHEMA: &str = include_str!("../data/sarif-schema-2.1.0.json");
/// Where the shipped copy was published; the URL our output names in `$schema`.
const SCHEMA_URL: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn compile() -> (Schemas, SchemaIndex) {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let mut schemas = Schemas::new();
    let mut compiler = Compiler::new();
    // `uri`, `uri-reference` and `date-time` are checked, not just annotations.
    compiler.enable_format_assertions();
    compiler
        .add_resource(SCHEMA_URL, schema)
        .unwrap_or_else(|err| panic!("{err:#}"));
    let index = compiler
        .compile(SCHEMA_URL, &mut schemas)
        .unwrap_or_else(|err| panic!("{err:#}"));
    (schemas, index)
}

/// `None` when `doc` is valid SARIF 2.1.0, else every validation error.
fn errors(schemas: &Schemas, index: SchemaIndex, doc: &Value) -> Option<String> {
    schemas.validate(doc, index).err().map(|e| format!("{e:#}"))
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let repo = repo();
    // A stale spec with a template placeholder, then a --no-verify commit in its area.
    repo.write(
        "tasks/specs/security.md",
        "---\narea: security\nowner: \"Sam Sec\"\nstatus: approved\nlast_review: 2026-01-02\n---\n\n# Security\n\nThreats: {{threats}}\n",
    );
    repo.git(&["add", "-A"]);
    no_verify(&repo, "spec");
    repo.write("src/auth/login.rs", "fn login() {}\n");
    repo.git(&["add", "-A"]);
    no_verify(&repo, "sneaky");
    // Lint and secret hits, in paths a URI cannot hold literally.
    let key = format!("AKIA{}", "Z7QWERTYUIOPASDF"); // split: this repository's audit stays clean
    repo.write(
        "src/config.rs",
        format!("// ok\nconst KEY: &str = \"{key}\";\n"),
    );
    repo.write("docs/release notes ü#1.md", "text\n<<<<<<< HEAD\n");
    repo.write("2026:plan.md", "<<<<<<< HEAD\n");
    repo.write(
        "patterns/lints/team.toml",
        "[[rule]]\nid = \"no-println\"\nregex = 'println!'\ninclude = [\"src/**\"]\nseverity = \"warning\"\nmessage = \"use the output module\"\n",
    );
    repo.write("src/main.rs", "fn main() {\n    println!(\"hi\");\n}\n");
    repo.git(&["add", "-A"]);

    let out = repo.root.join("audit.sarif");
    let run = repo
        .run(&[
            "audit",
            "--format",
            "sarif",
            "--output",
            out.to_str().expect("utf-8"),
        ])
        .code(1);
    // The warnings: the team's println rule, and patterns/lints/team.toml itself, tracked in the
    // novel-pattern area with no spec, and init's files in the governance area (spec/uncovered).
    assert!(
        run.stdout.starts_with("audit: 7 error(s), 3 warning(s)"),
        "{}",
        run.both()
    );
    let text = std::fs::read_to_string(&out).expect("sarif file");
    assert!(!text.contains(&key), "the secret is never written");
    let doc: Value = serde_json::from_str(&text).expect("sarif is JSON");

    let (schemas, index) = compile();
    if let Some(errors) = errors(&schemas, index, &doc) {
        panic!("the SARIF output does not follow the schema:\n{errors}\n\n{text}");
    }

    let sarif_run = &doc["runs"][0];
    let rules = sarif_run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for rule in rules {
        for text in ["shortDescription", "fullDescription"] {
            assert!(
                rule[text]["text"].as_str().is_some_and(|t| !t.is_empty()),
                "{text} of {rule}"
            );
        }
    }
    let mut located = String::new();
    for result in sarif_run["results"].as_array().expect("results") {
        let rule_id = result["ruleId"].as_str().expect("ruleId");
        // A result's ruleIndex, when given, points at its own rule.
        if let Some(i) = result.get("ruleIndex") {
            let i = usize::try_from(i.as_u64().expect("index")).expect("index");
            assert_eq!(rules[i]["id"], rule_id, "{result}");
        }
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        located.push_str(&format!(
            "{} {} {} {}\n",
            result["level"].as_str().expect("level"),
            rule_id,
            physical["artifactLocation"]["uri"].as_str().expect("uri"),
            physical["region"]["startLine"]
                .as_u64()
                .map_or("-".to_owned(), |l| l.to_string()),
        ));
    }
    expect![[r#"
        error spec/stale tasks/specs/security.md 5
        error spec/placeholder tasks/specs/security.md 10
        warning spec/uncovered tasks/specs/novel-pattern.md -
        warning spec/uncovered tasks/specs/governance.md -
        error spec-guard/range tasks/specs/security.md -
        error lint/conflict-marker 2026%3Aplan.md 1
        error lint/conflict-marker docs/release%20notes%20%C3%BC%231.md 2
        error secret/aws-access-key src/config.rs 2
        warning lint/no-println src/main.rs 2
        error lint/placeholder-in-spec tasks/specs/security.md 10
    "#]]
    .assert_eq(&located);

    // The validator does reject what is not SARIF 2.1.0.
    let mut broken = doc.clone();
    broken["version"] = json!("2.0");
    let mut no_message = doc.clone();
    no_message["runs"][0]["results"][0]
        .as_object_mut()
        .expect("result")
        .remove("message");
    let mut bad_line = doc.clone();
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    let mut bad_uri = doc;
    bad_uri["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("2026:plan.md");
    for (what, doc, at) in [
        ("version 2.0", &broken, "/version"),
        ("a result without message", &no_message, "/runs/0/results/0"),
        ("line 0", &bad_line, "/startLine"),
        ("a colon in a relative path", &bad_uri, "/uri"),
    ] {
        let errors = errors(&schemas, index, doc).unwrap_or_else(|| panic!("{what} accepted"));
        assert!(errors.contains(at), "{what}: {errors}");
    }
}
