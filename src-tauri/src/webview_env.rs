//! WebKitGTK settings applied through its environment before the first window exists.
//!
//! FlexDesk draws tables, forms and server-rendered chart images: nothing that needs GPU
//! compositing. WebKitGTK's accelerated compositing costs the web process about 95 MB more
//! memory at idle (measured with `startup_bench`, see BENCHMARKS.md), so it is off unless the
//! user asks for it. A value the user set in the environment always wins.

/// What a variable is set to, and why: shown in the log at start-up.
pub struct Applied {
    pub name: &'static str,
    pub value: String,
    pub from_user: bool,
}

/// `FLEXDESK_GPU=1` keeps WebKit's defaults (GPU compositing on).
const KEEP_DEFAULTS: &str = "FLEXDESK_GPU";

const LEAN: [(&str, &str); 1] = [("WEBKIT_DISABLE_COMPOSITING_MODE", "1")];

/// Sets the lean defaults the user has not overridden. Call before any thread starts (the
/// environment is process-wide) and before the webview is created.
pub fn apply() -> Vec<Applied> {
    let keep_defaults = std::env::var(KEEP_DEFAULTS).is_ok_and(|v| v == "1");
    let mut applied = Vec::new();
    for (name, value) in LEAN {
        match std::env::var(name) {
            Ok(user) => applied.push(Applied { name, value: user, from_user: true }),
            Err(_) if keep_defaults => {}
            Err(_) => {
                std::env::set_var(name, value);
                applied.push(Applied { name, value: value.to_string(), from_user: false });
            }
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the environment is process-wide, so the cases run in sequence.
    #[test]
    fn lean_defaults_are_set_unless_the_user_chose_otherwise() {
        std::env::remove_var(KEEP_DEFAULTS);
        std::env::remove_var("WEBKIT_DISABLE_COMPOSITING_MODE");
        let applied = apply();
        assert_eq!(std::env::var("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref(), Ok("1"));
        assert!(applied.iter().any(|a| a.name == "WEBKIT_DISABLE_COMPOSITING_MODE" && !a.from_user));

        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "0");
        let applied = apply();
        assert_eq!(std::env::var("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref(), Ok("0"), "the user's value wins");
        assert!(applied.iter().any(|a| a.value == "0" && a.from_user));

        std::env::remove_var("WEBKIT_DISABLE_COMPOSITING_MODE");
        std::env::set_var(KEEP_DEFAULTS, "1");
        assert!(apply().is_empty());
        assert!(
            std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none(),
            "FLEXDESK_GPU=1 keeps WebKit's defaults"
        );
        std::env::remove_var(KEEP_DEFAULTS);
    }
}
