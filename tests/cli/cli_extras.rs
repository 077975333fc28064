//! What a command-line user expects of a Rust tool: completions, a man page, a log file.

use crate::common;

use common::process::{run, temp_dir};

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    let home = temp_dir("extras-complete");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&home, &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("mcptop") && text.contains("include-anonymous"),
            "{shell}"
        );
    }
    let out = run(&home, &["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH mcptop"),
        "{page}"
    );
    assert!(page.contains("discovery\\-file"), "{page}");
    let out = run(&home, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn log_writes_what_happened_to_a_private_file_never_a_token() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_dir("extras-log");
    let log = home.join("mcptop.log");
    let out = run(
        &home,
        &[
            "tail",
            "--url",
            "http://127.0.0.1:9",
            "--log",
            log.to_str().unwrap(),
            "--session",
            "s",
            "--token-file",
            "/nonexistent-token",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing answers on port 9: discovery says so; with a reachable daemon the log holds
    // the link's story. Here it exists, is private, and holds no secret.
    let meta = std::fs::metadata(&log).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let (mut server, url) = common::process::serve(&home, &[]);
    let token_file = home.join("tok");
    std::fs::write(&token_file, "definitely-a-secret-token\n").unwrap();
    let out = run(
        &home,
        &[
            "tail",
            "--url",
            &url,
            "--session",
            "no-such-session",
            "--token-file",
            token_file.to_str().unwrap(),
            "--max-retries",
            "0",
            "--log",
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("following daemon"), "{text}");
    assert!(!text.contains("definitely-a-secret-token"), "{text}");
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}
