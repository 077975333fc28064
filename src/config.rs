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

/// The redaction rules of the default config file, and a line to show when it could not
/// be used (see [`crate::redact::load_rules`]).
pub fn load_redaction() -> (crate::redact::Rules, Option<String>) {
    crate::redact::load_rules(default_path().as_deref())
}
