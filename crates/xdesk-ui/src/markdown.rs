//! Article Markdown to HTML, sanitised: whatever an editor or an imported file wrote, the page
//! gets no script, no event handler and no foreign frame.

use pulldown_cmark::{Options, Parser, html};

pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut raw = String::new();
    html::push_html(&mut raw, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_renders_and_script_does_not() {
        let h = to_html(
            "## Steps\n\n1. Open **Assets**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [ok](https://www.nexa.example/)",
        );
        assert!(h.contains("<h2>Steps</h2>"), "{h}");
        assert!(h.contains("<strong>Assets</strong>"));
        assert!(h.contains("<table>"));
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("onerror"), "{h}");
        assert!(!h.contains("href=\"javascript"), "{h}");
        assert!(
            h.contains("href=\"https://www.nexa.example/\" rel=\"noopener noreferrer nofollow\""),
            "{h}"
        );
    }
}
