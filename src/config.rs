//! The config file every part of mcptop reads: where it is, and the section the taps and
//! the hook need (`[redaction]`). The monitor's settings (screen, table, calls, keys) are
//! read by [`crate::ui::config`], from the same file.

use std::path::PathBuf;

/// Where the config file is looked for: `$XDG_CONFIG_HOME/mcptop/config.toml` (or the
/// platform's config directory).
pub fn default_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy()
        .ok()
        .map(|s| s.config_dir().join("mcptop").join("config.toml"))
}

/// The `[otlp]` section: the daemon's OpenTelemetry receiver.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// Receive OTLP (as `mcptop serve --otlp`).
    pub receive: bool,
    /// Where to receive OTLP/HTTP (`127.0.0.1:4318`, a port, or `off`).
    pub http: Option<String>,
    /// Where to receive OTLP/gRPC (`127.0.0.1:4317`, a port, or `off`).
    pub grpc: Option<String>,
    /// Send every call as a span to this collector (`https://otel.example.com`).
    pub export: Option<String>,
    /// `http/protobuf`, `http/json` or `grpc`.
    pub export_protocol: Option<String>,
    /// Headers for the collector, as OTEL_EXPORTER_OTLP_HEADERS (`x-api-key=…`).
    pub export_headers: Option<String>,
}

/// The conventional OTLP ports, on loopback.
pub const OTLP_HTTP: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4318);
pub const OTLP_GRPC: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4317);

/// `4318` (on 127.0.0.1), `127.0.0.1:4318`, `[::1]:4318`, or `off` (none).
pub fn parse_listen(s: &str) -> Result<Option<std::net::SocketAddr>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if let Ok(port) = t.parse::<u16>() {
        return Ok(Some(std::net::SocketAddr::new(
            std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        )));
    }
    t.parse::<std::net::SocketAddr>().map(Some).map_err(|_| {
        format!(
            "{:?} is not an address to listen on: use a port (4318), HOST:PORT \
             (127.0.0.1:4318) or off",
            crate::sanitize::cut(&crate::sanitize::terminal(t), 60)
        )
    })
}

/// The `[otlp]` section of the default config file (`None`: no file, or none in it), or
/// what is wrong with it.
pub fn load_otlp() -> Result<Option<OtlpConfig>, String> {
    let Some(path) = default_path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read it ({e})", path.display())),
    };
    let bad = |why: String| {
        crate::sanitize::terminal(&format!(
            "{}: {why} (mcptop config --default prints a good file)",
            path.display()
        ))
        .into_owned()
    };
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| bad(format!("not valid TOML ({})", e.message().trim())))?;
    match table.get("otlp") {
        None => Ok(None),
        Some(section) => section
            .clone()
            .try_into::<OtlpConfig>()
            .map(Some)
            .map_err(|e| bad(format!("[otlp]: {}", e.message().trim()))),
    }
}

/// The redaction rules of the default config file, and a line to show when it could not
/// be used (see [`crate::redact::load_rules`]).
pub fn load_redaction() -> (crate::redact::Rules, Option<String>) {
    crate::redact::load_rules(default_path().as_deref())
}
