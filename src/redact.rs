//! Secrets never leave the machine's tap: values under keys that look secret, and strings
//! shaped like bearer tokens, JWTs or provider keys, become `"<redacted>"` before anything
//! is published, shown or recorded.

use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Key names (lower case, `-` and `_` dropped) whose values are secrets at any depth.
const SECRET_KEYS: &[&str] = &[
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "secret",
    "clientsecret",
    "password",
    "passwd",
    "apikey",
    "authorization",
    "cookie",
    "setcookie",
    "credential",
    "credentials",
    "privatekey",
];

/// What stands for every argument and result while the config file cannot be read: its
/// extra secret keys are unknown, so nothing is published that they might name.
pub const WITHHELD: &str = "<withheld: the config file's [redaction] cannot be read>";

/// Which keys are secret, beside the built-in list; `off` redacts nothing; `withhold`
/// publishes no text at all (the user's own rules could not be read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub extra_keys: Vec<String>,
    pub off: bool,
    pub withhold: bool,
}

/// The `[redaction]` section of the config file: what the taps and the hook replace with
/// `<redacted>` before publishing.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// More key names whose values are secrets (beside token, secret, password, …).
    pub keys: Vec<String>,
    /// Redact nothing (for a machine whose traffic holds no secrets).
    pub off: bool,
}

/// The rules of the config file at `path` (`None`: no config file), and a line to show
/// when it could not be used. Only its `[redaction]` section counts here: a typo
/// elsewhere (a key binding, say) does not cost the user's secret keys. When that section
/// or the file itself cannot be read, nothing is published that they might name.
pub fn load_rules(path: Option<&std::path::Path>) -> (Rules, Option<String>) {
    let Some(path) = path else {
        return (Rules::default(), None);
    };
    let refuse = |why: String| {
        let rules = Rules {
            withhold: true,
            ..Rules::default()
        };
        let line = format!(
            "{}: {why}: arguments and results are withheld until it is fixed (mcptop config \
             --default prints a good file)",
            path.display()
        );
        (rules, Some(crate::sanitize::terminal(&line).into_owned()))
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Rules::default(), None),
        Err(e) => return refuse(format!("cannot read it ({e})")),
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => return refuse(format!("not valid TOML ({})", e.message().trim())),
    };
    let config = match table.get("redaction") {
        None => RedactionConfig::default(),
        Some(section) => match section.clone().try_into::<RedactionConfig>() {
            Ok(c) => c,
            Err(e) => return refuse(format!("[redaction]: {}", e.message().trim())),
        },
    };
    let rules = Rules {
        extra_keys: config.keys,
        off: config.off,
        withhold: false,
    };
    (rules, None)
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Rules {
    fn is_secret_key(&self, key: &str) -> bool {
        let key = normalize(key);
        if key == "progresstoken" || key.ends_with("count") {
            return false;
        }
        SECRET_KEYS.iter().any(|k| key == *k || key.ends_with(k))
            || self.extra_keys.iter().any(|k| normalize(k) == key)
    }

    /// `value` with every secret replaced (in place).
    pub fn value(&self, value: &mut Value) {
        if self.withhold {
            if !value.is_null() {
                *value = Value::String(WITHHELD.into());
            }
            return;
        }
        if self.off {
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if self.is_secret_key(key) && !v.is_null() && !v.is_boolean() {
                        *v = Value::String(REDACTED.into());
                    } else {
                        self.value(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::String(s) => {
                if let Some(clean) = self.text(s) {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// `text` with secret-shaped words replaced; `None` when there was none.
    pub fn text(&self, text: &str) -> Option<String> {
        if self.withhold {
            return Some(WITHHELD.into());
        }
        if self.off {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut rest = text;
        // `Bearer xyz` / `Basic xyz`: the credential after the scheme.
        while let Some((at, word)) = next_word(rest) {
            out.push_str(&rest[..at]);
            let after = &rest[at + word.len()..];
            let lower = word.to_ascii_lowercase();
            if lower == "bearer" || lower == "basic" || lower == "token" {
                // Keep the scheme, redact the next word.
                if let Some((gap, credential)) = next_word(after) {
                    if gap <= 2 && credential.len() >= 8 {
                        out.push_str(word);
                        out.push_str(&after[..gap]);
                        out.push_str(REDACTED);
                        rest = &after[gap + credential.len()..];
                        changed = true;
                        continue;
                    }
                }
            }
            if looks_secret(word) {
                out.push_str(REDACTED);
                changed = true;
            } else if let Some((name, value)) = word.split_once('=') {
                // `api_key=sk-…`, `--password=hunter2`
                if self.is_secret_key(name.trim_start_matches('-')) && !value.is_empty() {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(REDACTED);
                    changed = true;
                } else {
                    out.push_str(word);
                }
            } else {
                out.push_str(word);
            }
            rest = after;
        }
        out.push_str(rest);
        changed.then_some(out)
    }
}

/// The next run of non-space characters (with quotes and a trailing `,;` left out): its
/// offset in `s` and the word.
fn next_word(s: &str) -> Option<(usize, &str)> {
    let is_break =
        |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',' | ';' | '(' | ')');
    let start = s.find(|c: char| !is_break(c))?;
    let len = s[start..].find(is_break).unwrap_or(s.len() - start);
    Some((start, &s[start..start + len]))
}

/// A provider key, a JWT or a long random-looking token.
fn looks_secret(word: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk-",
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "pk_live_",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxs-",
        "AKIA",
        "ASIA",
        "AIza",
        "ya29.",
        "zc_",
        "npm_",
        "hf_",
        "shpat_",
    ];
    if word.len() >= 12 && PREFIXES.iter().any(|p| word.starts_with(p)) {
        return true;
    }
    // A JWT: three base64url parts, the first a JSON header (`eyJ`).
    if word.starts_with("eyJ") && word.matches('.').count() == 2 && word.len() >= 30 {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_at_any_depth_and_secret_shaped_strings_go() {
        let rules = Rules::default();
        let mut v = json!({
            "api_key": "sk-live-0123456789abcdef",
            "headers": { "Authorization": "Bearer abcdefghijklmnop", "Accept": "json" },
            "nested": [{ "clientSecret": 42 }, { "note": "use ghp_0123456789abcdefghij now" }],
            "path": "src/main.rs",
            "count": 3,
        });
        rules.value(&mut v);
        assert_eq!(v["api_key"], REDACTED);
        assert_eq!(v["headers"]["Authorization"], REDACTED);
        assert_eq!(v["headers"]["Accept"], "json");
        assert_eq!(v["nested"][0]["clientSecret"], REDACTED);
        assert_eq!(v["nested"][1]["note"], "use <redacted> now");
        assert_eq!(v["path"], "src/main.rs");
        assert_eq!(v["count"], 3);
        let text = serde_json::to_string(&v).unwrap();
        for secret in ["sk-live", "abcdefghijklmnop", "ghp_"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn commands_keep_their_shape_without_their_secrets() {
        let rules = Rules::default();
        assert_eq!(
            rules
                .text(r#"curl -H "Authorization: Bearer abc.def.ghijklmnop" https://x"#)
                .as_deref(),
            Some(r#"curl -H "Authorization: Bearer <redacted>" https://x"#)
        );
        assert_eq!(
            rules
                .text("deploy --password=hunter22 --env prod")
                .as_deref(),
            Some("deploy --password=<redacted> --env prod")
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop";
        assert_eq!(
            rules.text(&format!("token is {jwt}")).as_deref(),
            Some("token is <redacted>")
        );
        assert_eq!(rules.text("cargo test --release"), None);
        assert_eq!(
            Rules {
                off: true,
                ..Rules::default()
            }
            .text("sk-0123456789abcdef"),
            None
        );
        let mut v = json!({ "session_ref": "x" });
        Rules {
            extra_keys: vec!["session-ref".into()],
            ..Rules::default()
        }
        .value(&mut v);
        assert_eq!(v["session_ref"], REDACTED);
    }

    #[test]
    fn the_config_files_redaction_is_kept_or_everything_is_withheld() {
        let dir = std::env::temp_dir().join(format!("mcptop-redact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        assert_eq!(load_rules(Some(&path)), (Rules::default(), None), "no file");
        // A typo elsewhere: the redaction section still applies, nothing to say.
        std::fs::write(
            &path,
            "[keys]\nquit = 7\n[redaction]\nkeys = [\"ticket\"]\n",
        )
        .unwrap();
        let (rules, said) = load_rules(Some(&path));
        assert_eq!(said, None);
        assert_eq!(
            rules.text("ticket=abc123").as_deref(),
            Some("ticket=<redacted>")
        );
        // Not TOML, or a redaction section that does not parse: said, and withheld.
        for bad in [
            "[redaction\nkeys = 1",
            "[redaction]\nkeys = \"ticket\"\n",
            "[redaction]\nkey = []\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            let (rules, said) = load_rules(Some(&path));
            let said = said.expect("said");
            assert!(
                said.contains("withheld") && said.contains("config.toml"),
                "{said}"
            );
            assert!(rules.withhold);
            let mut v = serde_json::json!({"query": "select 1"});
            rules.value(&mut v);
            assert_eq!(v, Value::String(WITHHELD.into()));
            assert_eq!(rules.text("ls").as_deref(), Some(WITHHELD));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
