//! Article Markdown to HTML, sanitised: whatever an editor or an imported file wrote, the page
//! gets no script, no event handler and no foreign frame.

use pulldown_cmark::{CowStr, Event, Options, Parser, html};

/// Deepest nesting of Markdown blocks and inlines (quotes, lists, emphasis, …) rendered as
/// such; deeper ones keep their text without their structure. The sanitiser's HTML parser
/// takes time in proportion to the depth for each element, so 64 KiB of `>` (a quote in a
/// quote, 65,536 deep) took minutes; no article needs more than a few levels.
const MAX_DEPTH: usize = 32;

/// Deepest nesting of raw HTML tags passed to the sanitiser; raw HTML deeper than this is shown
/// as text (escaped) instead.
const MAX_HTML_DEPTH: usize = 64;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// How a piece of raw HTML changes the number of open tags: the tags it opens (not void or
/// self-closing ones), and those it closes. An approximation (it does not parse attributes or
/// know which tags close implicitly), enough to bound the depth.
fn html_depth_change(raw: &str) -> (usize, usize) {
    let (mut opened, mut closed) = (0, 0);
    let b = raw.as_bytes();
    for (i, _) in raw.match_indices('<') {
        let rest = &b[i + 1..];
        if rest.first() == Some(&b'/') {
            if rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
                closed += 1;
            }
            continue;
        }
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name_len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let name = String::from_utf8_lossy(&rest[..name_len]).to_ascii_lowercase();
        let tag_end = rest.iter().position(|c| *c == b'>');
        let self_closing = tag_end.is_some_and(|e| e > 0 && rest[e - 1] == b'/');
        if !VOID.contains(&name.as_str()) && !self_closing {
            opened += 1;
        }
    }
    (opened, closed)
}

/// Raw HTML as it is (`wrap`), or as text when it would open tags past [`MAX_HTML_DEPTH`].
fn raw_html<'a>(
    depth: &mut usize,
    raw: CowStr<'a>,
    wrap: fn(CowStr<'a>) -> Event<'a>,
) -> Event<'a> {
    let (opened, closed) = html_depth_change(&raw);
    if *depth + opened > MAX_HTML_DEPTH {
        *depth = depth.saturating_sub(closed);
        return Event::Text(raw);
    }
    *depth = (*depth + opened).saturating_sub(closed);
    wrap(raw)
}

/// The parser's events with nesting bounded (see [`MAX_DEPTH`] and [`MAX_HTML_DEPTH`]).
fn bounded<'a>(events: impl Iterator<Item = Event<'a>>) -> impl Iterator<Item = Event<'a>> {
    // For each open tag: whether its start was kept (its end is kept the same).
    let mut open: Vec<bool> = Vec::new();
    let mut kept_depth = 0usize;
    let mut html_depth = 0usize;
    events.filter_map(move |e| match e {
        Event::Start(tag) => {
            let keep = kept_depth < MAX_DEPTH;
            open.push(keep);
            kept_depth += usize::from(keep);
            keep.then_some(Event::Start(tag))
        }
        Event::End(tag) => {
            let keep = open.pop().unwrap_or(false);
            kept_depth -= usize::from(keep);
            keep.then_some(Event::End(tag))
        }
        Event::Html(raw) => Some(raw_html(&mut html_depth, raw, Event::Html)),
        Event::InlineHtml(raw) => Some(raw_html(&mut html_depth, raw, Event::InlineHtml)),
        other => Some(other),
    })
}

pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut raw = String::new();
    html::push_html(&mut raw, bounded(parser));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, MAX_HTML_DEPTH, to_html};

    /// Found by xdesk-fuzz: 64 KiB of `>` (65,536 nested quotes) or of raw `<div>` took the
    /// sanitiser minutes, its time growing with the depth for each element.
    #[test]
    fn nesting_is_bounded_and_the_text_is_kept() {
        let quotes = format!("{}deep", ">".repeat(1000));
        let h = to_html(&quotes);
        assert!(h.matches("<blockquote>").count() <= MAX_DEPTH, "{h}");
        assert!(h.contains("deep"), "{h}");
        let lists = format!("{}item", "- ".repeat(1000));
        let h = to_html(&lists);
        assert!(h.matches("<ul>").count() <= MAX_DEPTH, "{h}");
        assert!(h.contains("item"));
        let divs = format!("{}inside", "<div>".repeat(1000));
        let h = to_html(&divs);
        assert!(h.matches("<div>").count() <= MAX_HTML_DEPTH, "{}", h.len());
        assert!(h.contains("inside"));
        // Shallow HTML and Markdown are untouched.
        let h = to_html("> a\n> > b\n\n<div><p>x</p></div>");
        assert!(h.contains("<blockquote>\n<p>a</p>\n<blockquote>"), "{h}");
        assert!(h.contains("<div><p>x</p></div>"), "{h}");
    }

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
