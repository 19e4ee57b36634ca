//! The documentation names only what exists: every relative link and anchor in the Markdown files
//! resolves, every repository path and `make` target they name exists, and the operating guide's
//! table of variables lists exactly the variables the Worker reads (see `system_tests::docs`, whose
//! own tests show each check failing on a made-up tree).

use std::cell::RefCell;
use std::collections::BTreeSet;
use system_tests::docs::{check_tree, literal_variable_reads, table_names, variable_problems};
use system_tests::repo_root;

#[test]
fn every_link_anchor_path_and_make_target_the_docs_name_exists() {
    let problems = check_tree(&repo_root());
    let lines: Vec<String> = problems.iter().map(|p| format!("{}:{}: {}", p.file, p.line, p.what)).collect();
    assert!(lines.is_empty(), "the docs name what does not exist:\n{}", lines.join("\n"));
}

#[test]
fn the_operating_guide_documents_exactly_the_variables_the_worker_reads() {
    // Every name the configuration asks for, on the deployed path and on the emulator's (which
    // reads the development switches too).
    let read = RefCell::new(BTreeSet::new());
    for emulator in [None, Some("http://127.0.0.1:9")] {
        let _ = edge::config::Config::read(|name| {
            read.borrow_mut().insert(name.to_owned());
            (name == "DEV_MICROSOFT_BASE_URL").then(|| emulator.map(str::to_owned)).flatten()
        });
    }
    let mut read = read.into_inner();
    // The adapter reads the keyring itself.
    read.extend(literal_variable_reads(&repo_root().join("edge/src/adapter")));
    assert!(read.contains("ENCRYPTION_KEYS") && read.contains("PUBLIC_CLIENT_ID_CHINA"), "{read:?}");
    let guide = std::fs::read_to_string(repo_root().join("docs/operating.md")).expect("docs/operating.md");
    let documented = table_names(&guide, "Variables and secrets");
    let problems = variable_problems(&read, &documented);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_embed_scripts_integrity_printed_in_the_docs_is_the_built_files() {
    // Built here as Trunk's hook builds it, so that the check runs before the release build.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v1.js");
    let status =
        std::process::Command::new(repo_root().join("scripts/embed.sh")).arg("script").arg(&out).status().unwrap();
    assert!(status.success(), "scripts/embed.sh script failed");
    let built = system_tests::portal::integrity(&std::fs::read(&out).unwrap());
    for doc in ["docs/integrating.md", "embed/README.md"] {
        let text = std::fs::read_to_string(repo_root().join(doc)).unwrap();
        let printed: Vec<&str> = text.split("integrity=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
        assert!(!printed.is_empty(), "{doc} prints no integrity hash");
        for p in printed {
            assert_eq!(p, built, "{doc} prints another /embed/v1.js than the build's");
        }
    }
}
