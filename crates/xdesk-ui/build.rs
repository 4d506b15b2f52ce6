//! Serves the console's own scripts and styles without their comments and indentation: the
//! sources stay readable, and every page load moves fewer bytes. Only whole-line comments and
//! leading whitespace go, which cannot change what a line means (lines are kept, so JavaScript's
//! automatic semicolons fall where they did). Vendored minified files are served as they are.

use std::path::Path;

fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut in_comment = false;
    for line in source.lines() {
        let mut t = line.trim();
        if in_comment {
            match t.find("*/") {
                Some(end) => {
                    in_comment = false;
                    t = t[end + 2..].trim();
                }
                None => continue,
            }
        } else if let Some(rest) = t.strip_prefix("/*") {
            match rest.find("*/") {
                Some(end) => t = rest[end + 2..].trim(),
                None => {
                    in_comment = true;
                    continue;
                }
            }
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        out.push_str(t);
        out.push('\n');
    }
    out
}

fn main() {
    // Read when the script runs, not baked in when it was compiled: worktrees sharing one
    // target directory share this script's binary, and each must serve its own files.
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&root).join("static");
    println!("cargo:rerun-if-changed={}", dir.display());
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    for name in [
        "console.js",
        "notify.js",
        "inbox.js",
        "wallet.js",
        "app.css",
        "status.css",
    ] {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::write(Path::new(&out_dir).join(name), strip(&source));
    }
}
