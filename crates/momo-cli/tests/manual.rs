//! `momo completions` and `momo man`: generated from the clap definitions, and usable by the
//! tools they are for (bash's completion machinery, man).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

#[expect(dead_code, reason = "these tests need no server, only the command helpers")]
mod common;

use std::process::Command;

use common::*;

/// What bash's completion function offers after `words` (the last word being completed).
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("momo.bash");
    std::fs::write(&path, script).unwrap();
    let words_array: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source {path}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
         _momo momo '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path = path.display(),
        words = words_array.join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
        current = words[words.len() - 1],
        previous = words[words.len() - 2],
    );
    let out = Command::new("bash").args(["--norc", "-c", &program]).output().unwrap();
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_offers_the_subcommands_and_the_flags_of_serve() {
    let dir = tempfile::tempdir().unwrap();
    let script = stdout(&momo(dir.path()).args(["completions", "bash"]).assert().success());
    let commands = bash_completes(&script, &["momo", "se"]);
    assert_eq!(commands, ["serve"], "completing `momo se`");
    let flags = bash_completes(&script, &["momo", "serve", "--data"]);
    assert!(flags.contains(&"--data-dir".to_owned()) && flags.contains(&"--database-url".to_owned()), "{flags:?}");
}

#[test]
fn completions_exist_for_zsh_and_fish_and_name_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let zsh = stdout(&momo(dir.path()).args(["completions", "zsh"]).assert().success());
    assert!(zsh.starts_with("#compdef momo") && zsh.contains("serve"), "{zsh}");
    let fish = stdout(&momo(dir.path()).args(["completions", "fish"]).assert().success());
    assert!(fish.contains("complete -c momo") && fish.contains("serve"), "{fish}");
    let refused = momo(dir.path()).args(["completions", "tcsh"]).assert().code(2);
    assert!(stderr(&refused).contains("possible values"), "{}", stderr(&refused));
}

#[test]
fn the_man_page_renders_with_man_and_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let page = stdout(&momo(dir.path()).arg("man").assert().success());
    assert!(page.starts_with(".ie") || page.contains(".TH momo 1"), "{page}");
    let path = dir.path().join("momo.1");
    std::fs::write(&path, &page).unwrap();
    let rendered = Command::new("man").arg("-l").arg(&path).env("MANPAGER", "cat").env("MANWIDTH", "100").output();
    let rendered = rendered.expect("`man` is needed to check the page renders (Debian package man-db)");
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(text.contains("SUBCOMMANDS") && text.contains("momo-serve(1)"), "{text}");
}

#[test]
fn man_out_writes_one_page_per_command_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    momo(dir.path()).args(["man", "--out"]).arg(&out).assert().success();
    let serve = std::fs::read_to_string(out.join("momo-serve.1")).unwrap();
    assert!(serve.contains("database\\-url") && serve.contains("MOMO_DATABASE_URL"), "{serve}");
    assert!(out.join("momo.1").exists() && out.join("momo-callbacks-listen.1").exists());
    let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!names.iter().any(|n| n.to_string_lossy().contains("help")), "{names:?}");
}
