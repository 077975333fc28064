//! Secrets stay secret: everything mcptop writes (standard output and error of every
//! command, recordings, the daemon's log, the proxy's output, the screen) is searched for
//! the session and admin tokens; one session's token opens nothing else; the daemon binds
//! loopback and keeps its discovery file private.

use crate::common;

use std::path::Path;

use common::process::{run, serve, temp_dir, Running};
use mcptop::source::{LinkStatus, SourceEvent, Timed, Transport};
use mcptop::time::Time;
use mcptop::ui::app::{App, Key, SourceLabel};
use serde_json::Value;

fn admin_token(home: &Path) -> String {
    let file = std::fs::read_to_string(home.join(".mcptop/mcp.json")).unwrap();
    let v: Value = serde_json::from_str(&file).unwrap();
    v["admin_token"].as_str().unwrap().to_owned()
}

/// (session id, token) from `session new` (which hands the token out on purpose, for eval).
fn new_session(home: &Path, label: &str) -> (String, String) {
    let out = run(home, &["session", "new", "--label", label]);
    let text = String::from_utf8(out.stdout).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(|v| v.trim_matches('\''))
            .unwrap()
            .to_owned()
    };
    (value("MCPTOP_SESSION"), value("MCPTOP_TOKEN"))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

#[test]
fn no_token_appears_in_anything_mcptop_writes() {
    let home = temp_dir("sec-grep");
    let (mut server, url) = serve(&home, &["--workload", "--pace", "20", "--no-bursts"]);
    let admin = admin_token(&home);
    let (session, token) = new_session(&home, "agent");
    let mut written: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, out: std::process::Output| {
        written.push((
            format!("{what} stdout"),
            String::from_utf8_lossy(&out.stdout).into(),
        ));
        written.push((
            format!("{what} stderr"),
            String::from_utf8_lossy(&out.stderr).into(),
        ));
    };
    let recording = home.join("rec.jsonl");
    let rec = recording.to_str().unwrap();
    keep(
        "tail --json",
        run(&home, &["tail", "--json", "--count", "30", "--record", rec]),
    );
    keep(
        "tail --plain",
        run(&home, &["tail", "--plain", "--count", "10", "--summary"]),
    );
    keep(
        "tail --session",
        run(
            &home,
            &[
                "tail",
                "--json",
                "--for",
                "1s",
                "--session",
                &session,
                "--token",
                &token,
            ],
        ),
    );
    keep(
        "tail with a wrong token",
        run(
            &home,
            &[
                "tail",
                "--session",
                &session,
                "--token",
                &format!("{token}x"),
            ],
        ),
    );
    keep("sessions", run(&home, &["sessions"]));
    keep("sessions --json", run(&home, &["sessions", "--json"]));
    keep(
        "replay",
        run(&home, &["replay", rec, "--json", "--speed", "max"]),
    );
    written.push((
        "the recording".into(),
        std::fs::read_to_string(&recording).unwrap(),
    ));

    // The proxy forwards an Authorization header and never shows it.
    let mut proxy = Running::spawn(&home, &["proxy", "--upstream", &format!("{url}/mcp")]);
    let line = proxy.line_matching("the address", |l| l.starts_with("point the agent at "));
    let proxied = line.trim_start_matches("point the agent at ").to_owned();
    let code = block_on(status(
        reqwest::Client::new()
            .post(&proxied)
            .bearer_auth(&token)
            .header("x-construct-session", &session)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
    ));
    assert_eq!(
        code, 200,
        "Construct's dialect through the proxy, with the bearer"
    );
    proxy.signal(libc::SIGTERM);
    let (_, proxy_err) = proxy.wait();
    written.push(("proxy stdout".into(), proxy.lines.join("\n")));
    written.push(("proxy stderr".into(), proxy_err));

    // The monitor's screens, the detail view of a call included.
    written.push(("the screen".into(), screens(&home)));

    let (_, serve_err) = server.terminate();
    written.push(("serve stdout".into(), server.lines.join("\n")));
    written.push(("serve stderr".into(), serve_err));
    assert!(
        written.iter().map(|(_, t)| t.len()).sum::<usize>() > 2000,
        "the commands ran"
    );
    for (what, text) in &written {
        for secret in [&admin, &token] {
            assert!(!text.contains(secret.as_str()), "a token in {what}: {text}");
        }
    }
    std::fs::remove_dir_all(&home).unwrap();
}

/// The table and a detail view, rendered from a recorded stream of this daemon.
fn screens(home: &Path) -> String {
    let recording = home.join("rec.jsonl");
    let text = std::fs::read_to_string(recording).unwrap();
    let mut app = App::new(
        SourceLabel {
            daemon: "daemon".into(),
            transport: "SSE".into(),
            session: "all sessions".into(),
        },
        Time::now(),
    );
    app.ingest(&Timed {
        at: Time::now(),
        event: SourceEvent::Status(LinkStatus::Connected {
            transport: Transport::Sse,
            session_id: "*".into(),
            resumed: false,
        }),
    });
    for line in text.lines().skip(1) {
        let Ok(Value::Array(item)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if item.get(1).and_then(Value::as_str) == Some("e") {
            let e = &item[2];
            app.ingest(&Timed {
                at: Time::now(),
                event: SourceEvent::Event {
                    event_type: e["event"].as_str().unwrap_or("message").into(),
                    data: e["data"].as_str().unwrap_or("").into(),
                    id: e["id"].as_str().unwrap_or("").into(),
                },
            });
        }
    }
    let mut screen = String::new();
    for key in [None, Some(Key::Enter)] {
        if let Some(k) = key {
            app.handle_key(k, Time::now());
        }
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 60)).unwrap();
        terminal
            .draw(|f| {
                mcptop::ui::draw(
                    f,
                    &mut app,
                    Time::now(),
                    0,
                    mcptop::ui::theme::Theme::plain(),
                )
            })
            .unwrap();
        for cell in terminal.backend().buffer().content() {
            screen.push_str(cell.symbol());
        }
    }
    assert!(screen.contains("last frame"), "the detail view was drawn");
    screen
}

#[test]
fn one_sessions_token_opens_nothing_else() {
    let home = temp_dir("sec-scope");
    let (_server, url) = serve(&home, &[]);
    let admin = admin_token(&home);
    let (a, a_token) = new_session(&home, "a");
    let (b, b_token) = new_session(&home, "b");
    block_on(async {
        let client = reqwest::Client::new();
        let events = |id: &str, bearer: &str| {
            client
                .get(format!("{url}/session/{id}/events"))
                .bearer_auth(bearer)
                .timeout(std::time::Duration::from_secs(2))
        };
        // Each token opens its own stream only (a 200 answers at once with the head).
        assert_eq!(status(events(&a, &a_token)).await, 200);
        assert_eq!(status(events(&b, &a_token)).await, 401);
        assert_eq!(status(events(&a, &b_token)).await, 401);
        // Every session's stream, and the listing, need the admin token.
        assert_eq!(status(events("*", &a_token)).await, 401);
        assert_eq!(status(events("*", &admin)).await, 200);
        let list = |bearer: &str| client.get(format!("{url}/sessions")).bearer_auth(bearer);
        assert_eq!(status(list(&a_token)).await, 401);
        assert_eq!(status(list(&admin)).await, 200);
        assert_eq!(status(client.get(format!("{url}/sessions"))).await, 401);
        // Publishing into a session needs that session's token.
        let publish = |id: &str, bearer: &str| {
            client
                .post(format!("{url}/session/{id}/publish"))
                .bearer_auth(bearer)
                .header("content-type", "application/json")
                .body(r#"{"type":"call","token":1,"tool":"x","state":"started"}"#)
        };
        assert_eq!(status(publish(&b, &a_token)).await, 401);
        assert_eq!(status(publish(&b, &b_token)).await, 200);
        assert_eq!(
            status(publish("*", &admin)).await,
            404,
            "nothing publishes to all"
        );
        // Another site's page cannot reach the daemon (DNS rebinding, CSRF).
        let from = |origin: &str| {
            client
                .post(format!("{url}/session"))
                .header("origin", origin)
                .header("content-type", "application/json")
                .body("{}")
        };
        assert_eq!(status(from("https://evil.example")).await, 403);
        assert_eq!(status(from(&url)).await, 200);
    });
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn the_daemon_binds_loopback_and_keeps_its_file_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_dir("sec-bind");
    let (_server, url) = serve(&home, &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let file = home.join(".mcptop/mcp.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir = std::fs::metadata(home.join(".mcptop"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir, 0o700);
    std::fs::remove_dir_all(&home).unwrap();
}
