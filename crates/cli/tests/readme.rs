//! The README's command-line examples, run as written: the first `sh` block of its
//! "Command-line tool" section runs under `sh -e` from a directory that holds the repository's
//! `examples/`, with this build's `mergetag` first on the `PATH`. Every file the commands name
//! must ship, and every command must succeed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn readme_block() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&readme).expect("the README is readable");
    let section = text
        .split("## Command-line tool")
        .nth(1)
        .expect("the README has a \"Command-line tool\" section");
    let start = section.find("```sh\n").expect("the section has a sh block") + "```sh\n".len();
    let len = section[start..].find("```").expect("the sh block ends");
    section[start..start + len].to_owned()
}

#[cfg(unix)]
#[test]
fn the_readme_commands_run_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mergetag-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(root.join("examples"), dir.join("examples")).unwrap();

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mergetag"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let block = readme_block();
    assert!(block.contains("mergetag dedup"), "{block}");
    let out = Command::new("sh")
        .arg("-e")
        .arg("-c")
        .arg(&block)
        .current_dir(&dir)
        .env("PATH", path)
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's commands failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    // What each command promised.
    assert!(stdout.contains(r#""output":"US""#), "{stdout}");
    assert!(stdout.contains(r#""output":"+13125550147""#), "{stdout}");
    assert!(stdout.contains("unmapped: none"), "{stdout}");
    for file in ["pairs.csv", "clusters.csv", "links.csv"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.lines().count() > 1, "{file} has rows");
    }
    assert!(stderr.contains("mergetag run: wrote"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's `mergetag query` block (feature `lake`), run as written from the repository.
#[cfg(all(unix, feature = "lake"))]
#[test]
fn the_readme_query_commands_run_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = text.split("## Command-line tool").nth(1).unwrap();
    let at = section
        .find("```sh\nmergetag query")
        .expect("a query block")
        + "```sh\n".len();
    let len = section[at..].find("```").unwrap();
    let block = &section[at..at + len];
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mergetag"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("sh")
        .arg("-e")
        .arg("-c")
        .arg(block)
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| salesforce "), "{stdout}");
    assert!(stdout.contains("engagement_level,n\n"), "{stdout}");
}
