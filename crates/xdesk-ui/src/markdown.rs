//! Article Markdown to HTML, sanitised: whatever an editor or an imported file wrote, the page
//! gets no script, no event handler and no foreign frame.

use pulldown_cmark::{CowStr, Event, Options, Parser, TagEnd, html};
use std::cell::Cell;
use std::ops::Range;

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

/// The most sanitising work one article gets as Markdown, in units of about 0.1 µs (on a
/// shared 2.6 GHz EPYC): see [`render_cost`]. The sanitiser (html5ever's parser and
/// serialiser, then ammonia's filter) is linear but slow per element, 1.2-1.5 µs each, and
/// Markdown makes an element from as little as two bytes: 64 KiB of `-|` lines is a table of
/// 21,835 rows, 630 KB of HTML and 50 ms. Text costs it little, except the characters it
/// escapes (`&`, `<`, `>`, `"`): each is decoded and escaped again, and the serialiser scans
/// ahead to the next `<` or `>` for each `&`, so 64 KiB of `&#` took 30 ms. Past this budget
/// the article's remaining source is shown as plain text (escaped, its line breaks kept),
/// which costs next to nothing. Real articles stay under it: 64 KiB of prose with headings,
/// lists, tables, links and code (5,400 elements) costs about 160,000 (6-10 ms), so such
/// articles up to about 95 KB render whole.
const MAX_RENDER_COST: usize = 240_000;

/// What one event costs the sanitiser (see [`MAX_RENDER_COST`]): an element 20, text 1 a
/// byte and 8 more for each character it escapes, and raw HTML as text plus what its tags'
/// attributes cost (see [`attribute_cost`]; `tag` carries an unclosed tag to the next raw
/// HTML event).
fn render_cost(e: &Event<'_>, tag: &mut Option<usize>) -> usize {
    let text = |t: &str| {
        t.len()
            + 8 * t
                .bytes()
                .filter(|b| matches!(b, b'&' | b'<' | b'>' | b'"'))
                .count()
    };
    match e {
        Event::End(_) => 0,
        Event::SoftBreak => 1,
        Event::Html(t) | Event::InlineHtml(t) => text(t) + attribute_cost(t, tag),
        Event::Text(t)
        | Event::Code(t)
        | Event::InlineMath(t)
        | Event::DisplayMath(t)
        | Event::FootnoteReference(t) => text(t),
        _ => 20,
    }
}

/// What the attributes of raw HTML tags cost: html5ever compares each attribute's name with
/// every one before it in the tag (to drop duplicates), so one tag of n attributes costs
/// n²/2 comparisons, about 2 ns each: a 64 KiB `<img src=x onerror=… ` or `<a/<a/<a/…` took
/// 50-90 ms. Counted per separator (whitespace, `/`, a quote) inside a tag, as the
/// separators before it in that tag over 32. `tag` is the separators so far in a tag still
/// open at the end of `raw`, if any.
fn attribute_cost(raw: &str, tag: &mut Option<usize>) -> usize {
    let mut cost = 0;
    let b = raw.as_bytes();
    for (i, c) in b.iter().enumerate() {
        match (*tag, c) {
            (None, b'<') if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => *tag = Some(0),
            (None, _) => {}
            (Some(_), b'>') => *tag = None,
            (Some(n), c) if c.is_ascii_whitespace() || matches!(c, b'/' | b'"' | b'\'') => {
                cost += n / 32;
                *tag = Some(n + 1);
            }
            (Some(_), _) => {}
        }
    }
    cost
}

/// The parser's events with nesting bounded (see [`MAX_DEPTH`] and [`MAX_HTML_DEPTH`]) and
/// the work bounded (see [`MAX_RENDER_COST`]): once the events have cost that much, the open
/// elements are closed, the events end, and `rest` is set to where the source not rendered
/// starts.
fn bounded<'a, 'r>(
    events: impl Iterator<Item = (Event<'a>, Range<usize>)> + 'r,
    rest: &'r Cell<Option<usize>>,
) -> impl Iterator<Item = Event<'a>> + 'r
where
    'a: 'r,
{
    // For each open tag: its end, if its start was kept (its end is kept the same).
    let mut open: Vec<Option<TagEnd>> = Vec::new();
    let mut kept_depth = 0usize;
    let mut html_depth = 0usize;
    let mut cost = 0usize;
    let mut tag = None;
    let mut events = events.fuse();
    let mut closing: Option<Vec<TagEnd>> = None;
    std::iter::from_fn(move || {
        loop {
            if let Some(ends) = &mut closing {
                return ends.pop().map(Event::End);
            }
            let (e, at) = events.next()?;
            if !matches!(e, Event::End(_)) {
                cost += render_cost(&e, &mut tag);
                if cost > MAX_RENDER_COST {
                    rest.set(Some(at.start));
                    closing = Some(open.drain(..).flatten().collect());
                    continue;
                }
            }
            let kept = match e {
                Event::Start(tag) => {
                    let keep = kept_depth < MAX_DEPTH;
                    open.push(keep.then(|| tag.to_end()));
                    kept_depth += usize::from(keep);
                    keep.then_some(Event::Start(tag))
                }
                Event::End(tag) => {
                    let keep = open.pop().flatten().is_some();
                    kept_depth -= usize::from(keep);
                    keep.then_some(Event::End(tag))
                }
                Event::Html(raw) => Some(raw_html(&mut html_depth, raw, Event::Html)),
                Event::InlineHtml(raw) => Some(raw_html(&mut html_depth, raw, Event::InlineHtml)),
                other => Some(other),
            };
            if kept.is_some() {
                return kept;
            }
        }
    })
}

/// `text` as plain text: escaped, in a paragraph, its line breaks kept.
fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 16);
    out.push_str("<p>");
    for c in text.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push_str("</p>\n");
    out
}

pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let rest = Cell::new(None);
    let mut raw = String::new();
    html::push_html(&mut raw, bounded(parser.into_offset_iter(), &rest));
    let mut out = ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string();
    if let Some(mut at) = rest.get() {
        while !markdown.is_char_boundary(at) {
            at -= 1;
        }
        out.push_str(&plain_text(&markdown[at..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, MAX_HTML_DEPTH, to_html};

    /// About 64 KiB of a real article: headings, prose with emphasis and links, a table, a
    /// code block and a numbered list, repeated.
    fn long_article() -> String {
        let mut a = String::new();
        let mut n = 0;
        while a.len() < 64 * 1024 {
            n += 1;
            a.push_str(&format!("## Section {n}\n\n"));
            for _ in 0..3 {
                a.push_str(
                    "When you withdraw **USDT** to an external wallet, check the \
                     [network](https://www.nexa.example/networks) first: sending on the wrong \
                     chain (for example *TRC-20* to an ERC-20 address) can't be undone. Fees & \
                     limits are listed below.\n\n",
                );
            }
            a.push_str("| Network | Fee | Min |\n|---|---|---|\n");
            for i in 0..40 {
                a.push_str(&format!("| TRC-20 | 1 USDT | {i} |\n"));
            }
            a.push_str("\n```html\n<div class=\"x\">&amp; <b>bold</b></div>\n```\n\n");
            for i in 1..15 {
                a.push_str(&format!(
                    "{i}. Open **Assets** > `Withdraw` and pick the coin\n"
                ));
            }
            a.push('\n');
        }
        a.push_str("Last line with **the end**.\n");
        a
    }

    /// Found by xdesk-fuzz: 64 KiB of `-|` lines (a table of 21,835 rows) took the sanitiser
    /// 50 ms, and other 64 KiB inputs (`<`, `&#`, `*a`) 20-30 ms. Past a budget of work, the
    /// rest of the source is plain text: escaped, every character kept. A long real article
    /// renders whole.
    #[test]
    fn work_is_bounded_and_the_rest_is_plain_text() {
        let table = format!(
            "| a | b |\n|---|---|\n{}<script>alert(1)</script> end",
            "-|\n".repeat(21_835)
        );
        let h = to_html(&table);
        let rows = h.matches("<tr>").count();
        assert!(rows > 1_000 && rows < 21_835, "{rows}");
        assert!(h.contains("</table>"), "the open elements are closed");
        let tail = &h[h.rfind("</table>").unwrap_or(0)..];
        assert_eq!(
            tail.matches("-|<br>").count() + rows,
            21_835 + 1,
            "{}",
            &tail[..200]
        );
        assert!(
            h.ends_with("&lt;script&gt;alert(1)&lt;/script&gt; end</p>\n"),
            "{}",
            &h[h.len() - 200..]
        );
        assert!(!h.contains("<script"));
        for text in [
            "&#".repeat(32 * 1024),
            "<".repeat(64 * 1024),
            "*a".repeat(32 * 1024),
        ] {
            let h = to_html(&text);
            assert!(
                !h.contains("<script") && h.len() >= text.len(),
                "{}",
                h.len()
            );
        }
        // One raw tag of thousands of attributes (html5ever checks each against all before it).
        for tag in [
            format!("<img src=x {}>", "onerror=alert(1) ".repeat(4_000)),
            format!("<div>{}", "<ample/".repeat(9_000)),
        ] {
            let h = to_html(&tag);
            assert!(h.starts_with("<p>&lt;"), "{}", &h[..100]);
            assert!(!h.contains("<img") && !h.contains("<ample"));
        }
        // A few attributes are free.
        let h = to_html("<a href=\"https://www.nexa.example/\" title=\"t\" class=\"c\">x</a>");
        assert!(
            h.contains("<a href=\"https://www.nexa.example/\" title=\"t\""),
            "{h}"
        );
        let article = long_article();
        assert!(article.len() >= 64 * 1024);
        let h = to_html(&article);
        assert!(
            h.contains("<p>Last line with <strong>the end</strong>.</p>"),
            "{}",
            &h[h.len() - 300..]
        );
        assert!(!h.contains("<br>"));
        assert!(h.matches("<table>").count() > 10);
    }

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
