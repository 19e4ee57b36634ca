//! The documentation check: what the Markdown files name must exist. Every relative link resolves
//! to a file (and its `#anchor` to a heading there), every repository path written as code exists,
//! every `make` target named is in the Makefile, and the operator's table of variables lists
//! exactly the variables the Worker reads. Pure over a folder, so that the checker is tested on
//! made-up trees as well as run on the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One thing a document names that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The document, relative to the root.
    pub file: String,
    /// Its 1-based line.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// Folders never read: build outputs, dependencies, version control.
const SKIPPED: [&str; 6] = ["target", "node_modules", ".git", "dist", "build", ".wrangler"];

/// Every Markdown file below `root`, relative to it, sorted.
pub fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !SKIPPED.contains(&name.as_str()) {
                    dirs.push(p);
                }
            } else if name.ends_with(".md") {
                out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (but `-` and `_`), spaces as
/// hyphens.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (a repeated heading gets `-1`, `-2`, …).
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        if !t.starts_with('#') {
            continue;
        }
        let heading = t.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(&heading.replace('`', ""));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of the Markdown links `[text](target)` on `line` (images too).
fn link_targets(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("").to_owned();
        out.push(target);
        rest = &after[end..];
    }
    out
}

/// The code spans (`…`) on `line`, outside links' targets.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Whether `span` reads as a path in the repository: one token of path characters whose first
/// segment is one of the repository's top-level folders.
fn as_repository_path<'a>(span: &'a str, top_level: &BTreeSet<String>) -> Option<&'a str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    if span.is_empty() || !span.chars().all(ok) || !span.contains('/') {
        return None;
    }
    let first = span.split('/').next()?;
    top_level.contains(first).then_some(span)
}

/// The `make` targets named in `text`, with their lines (in prose code spans and code blocks).
fn make_targets(text: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("make ") {
            let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
            let word: String =
                rest[at + 5..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
            let quoted = at > 0 && rest.as_bytes()[at - 1] == b'`' || line.trim_start().starts_with("make ");
            if before_ok && quoted && !word.is_empty() && word.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                out.push((i + 1, word));
            }
            rest = &rest[at + 5..];
        }
    }
    out
}

/// The targets the Makefile at `root` defines.
fn makefile_targets(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root.join("Makefile")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('\t') && !l.starts_with('.') && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .flat_map(|t| t.split_whitespace())
        .filter(|t| !t.contains('='))
        .map(str::to_owned)
        .collect()
}

/// The files the root `.gitignore` names one by one (anchored, no wildcard): made by the project's
/// own commands (such as `make dev`), so a document may name them although a clean clone has none.
fn generated_paths(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('/'))
        .filter(|l| !l.contains('*') && !l.is_empty())
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect()
}

/// Checks every Markdown file below `root`: links, anchors, repository paths (from the root, or
/// from the document's folder for a crate's own README), `make` targets.
pub fn check_tree(root: &Path) -> Vec<Problem> {
    let top_level: BTreeSet<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !SKIPPED.contains(&n.as_str()))
        .collect();
    let targets = makefile_targets(root);
    let generated = generated_paths(root);
    let mut problems = vec![];
    for file in markdown_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
        let name = file.to_string_lossy().replace('\\', "/");
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut report = |line: usize, what: String| problems.push(Problem { file: name.clone(), line, what });
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let resolved = if path.is_empty() { file.clone() } else { dir.join(path) };
                let full = root.join(&resolved);
                if !full.exists() {
                    report(n, format!("link to {target}: no such file"));
                    continue;
                }
                if let Some(anchor) =
                    anchor.filter(|_| full.is_file() && resolved.extension().is_some_and(|e| e == "md"))
                {
                    let there = std::fs::read_to_string(&full).unwrap_or_default();
                    if !anchors(&there).contains(anchor) {
                        report(n, format!("link to {target}: no heading #{anchor} there"));
                    }
                }
            }
            for span in code_spans(line) {
                if let Some(path) = as_repository_path(span, &top_level) {
                    let exists = root.join(path).exists() || root.join(&dir).join(path).exists();
                    if !exists && !generated.contains(path.trim_end_matches('/')) {
                        report(n, format!("names `{path}`, which does not exist"));
                    }
                }
            }
        }
        for (n, target) in make_targets(&text) {
            if !targets.contains(&target) {
                report(n, format!("names `make {target}`, which the Makefile does not define"));
            }
        }
    }
    problems
}

/// The backticked names in the first column of the table under the heading `heading` of `text`.
pub fn table_names(text: &str, heading: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut names = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim();
        if t.starts_with('#') {
            inside = t.trim_start_matches('#').trim() == heading;
            continue;
        }
        if !inside || !t.starts_with('|') {
            continue;
        }
        let first = t.trim_start_matches('|').split('|').next().unwrap_or("");
        for span in code_spans(first) {
            if !span.is_empty() && span.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                names.insert(span.to_owned());
            }
        }
    }
    names
}

/// The differences between the variables a program reads and those a table documents.
pub fn variable_problems(read: &BTreeSet<String>, documented: &BTreeSet<String>) -> Vec<String> {
    let mut out = vec![];
    for v in read.difference(documented) {
        out.push(format!("the Worker reads {v}, which the operating guide's table does not document"));
    }
    for v in documented.difference(read) {
        out.push(format!("the operating guide documents {v}, which the Worker does not read"));
    }
    out
}

/// The names passed as string literals to `.var("…")` or `.secret("…")` in the Rust files below
/// `dir` (the Worker's adapter reads a few variables itself).
pub fn literal_variable_reads(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for call in [".var(\"", ".secret(\""] {
                    for piece in text.split(call).skip(1) {
                        if let Some(name) = piece.split('"').next().filter(|n| {
                            !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                        }) {
                            out.insert(name.to_owned());
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn whats(root: &Path) -> Vec<String> {
        check_tree(root).into_iter().map(|p| format!("{}:{} {}", p.file, p.line, p.what)).collect()
    }

    #[test]
    fn a_sound_tree_has_no_problem() {
        let t = tree(&[
            ("Makefile", ".PHONY: dev test\ndev:\n\techo\ntest: dev\n\techo\n"),
            ("README.md", "# Product\n\nSee [the guide](docs/guide.md#the-part) and `make test`.\n"),
            ("docs/guide.md", "# Guide\n\n## The part\n\nIt is in `src/main.rs`; back to [top](#guide).\n"),
            ("src/main.rs", "fn main() {}\n"),
        ]);
        assert_eq!(whats(t.path()), Vec::<String>::new());
    }

    #[test]
    fn a_broken_link_a_missing_anchor_a_stale_path_and_an_unknown_target_are_each_found() {
        let t = tree(&[
            ("Makefile", "test:\n\techo\n"),
            ("src/lib.rs", ""),
            (
                "README.md",
                "# Product\n\n[gone](docs/gone.md)\n[anchor](docs/guide.md#nowhere)\n`src/old.rs`\nrun `make bench`\n",
            ),
            ("docs/guide.md", "# Guide\n"),
        ]);
        assert_eq!(
            whats(t.path()),
            vec![
                "README.md:3 link to docs/gone.md: no such file",
                "README.md:4 link to docs/guide.md#nowhere: no heading #nowhere there",
                "README.md:5 names `src/old.rs`, which does not exist",
                "README.md:6 names `make bench`, which the Makefile does not define",
            ]
        );
    }

    #[test]
    fn a_path_from_the_documents_folder_or_a_generated_file_counts() {
        let t = tree(&[
            ("Makefile", "test:\n\techo\n"),
            (".gitignore", "/target\n/tool/.vars\n*.log\n"),
            ("tool/README.md", "# Tool\n\nIts tests are in `tests/one.rs`; `make test` writes `tool/.vars`.\n"),
            ("tool/tests/one.rs", ""),
            ("tests/x.rs", ""),
        ]);
        assert_eq!(whats(t.path()), Vec::<String>::new());
    }

    #[test]
    fn code_blocks_web_links_and_words_are_not_checked() {
        let t = tree(&[
            ("Makefile", "test:\n\techo\n"),
            ("src/lib.rs", ""),
            ("README.md", "# P\n\n```\ncd src/elsewhere\n```\n[web](https://example.com/x) `a/b` `Make sure`\n"),
        ]);
        assert_eq!(whats(t.path()), Vec::<String>::new());
    }

    #[test]
    fn headings_become_githubs_anchors() {
        assert_eq!(slug("For portal integrators: the session token"), "for-portal-integrators-the-session-token");
        assert_eq!(slug("`make bench` and budgets"), "make-bench-and-budgets");
        let a = anchors("# A\n## Same\n## Same\n```\n# not a heading\n```\n");
        assert_eq!(a.into_iter().collect::<Vec<_>>(), ["a", "same", "same-1"]);
    }

    #[test]
    fn an_undocumented_or_unread_variable_is_named() {
        let text = "# Operating\n\n## Variables and secrets\n\n| name | kind |\n|---|---|\n| `A_VAR` | var |\n| `OLD_VAR` | var |\n\n## Other\n\n| `NOT_A_VARIABLE` | x |\n";
        let documented = table_names(text, "Variables and secrets");
        assert_eq!(documented.iter().cloned().collect::<Vec<_>>(), ["A_VAR", "OLD_VAR"]);
        let read: BTreeSet<String> = ["A_VAR", "NEW_VAR"].map(String::from).into();
        assert_eq!(
            variable_problems(&read, &documented),
            vec![
                "the Worker reads NEW_VAR, which the operating guide's table does not document",
                "the operating guide documents OLD_VAR, which the Worker does not read",
            ]
        );
    }

    #[test]
    fn literal_reads_are_found_in_the_sources() {
        let t = tree(&[(
            "a/b.rs",
            "env.secret(\"KEYS\").or_else(|_| env.var(\"KEYS\")); env.var(\"OTHER_1\"); x.var(\"lower\")",
        )]);
        let found = literal_variable_reads(t.path());
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["KEYS", "OTHER_1"]);
    }
}
