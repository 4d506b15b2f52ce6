//! QR codes drawn on the server as inline SVG, so a secret they carry (an `otpauth://` URI)
//! never goes to a third-party service or through script in the browser.

use qrcode::QrCode;
use qrcode::render::svg;

/// `text` as an SVG QR code to put in a page; None when it is too long for one.
pub(crate) fn svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The XML declaration is for files; inline, the element is all a page needs.
    let start = image.find("<svg")?;
    let label: String = label
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '&' | '"'))
        .collect();
    Some(image[start..].replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"qr\" "),
        1,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::svg;

    #[test]
    fn draws_an_inline_svg_with_modules() {
        let s = svg("otpauth://totp/xdesk:a@b.co?secret=ABC&issuer=xdesk", "QR").unwrap();
        assert!(
            s.starts_with("<svg role=\"img\" aria-label=\"QR\" class=\"qr\" "),
            "{s}"
        );
        assert!(!s.contains("<?xml"));
        assert!(s.ends_with("</svg>"), "{s}");
        // Dark modules are drawn as a path; a longer text needs a bigger code.
        assert!(s.contains("fill=\"#000\""), "{s}");
        let small = svg("a", "QR").unwrap();
        let big = svg(&"a".repeat(300), "QR").unwrap();
        assert!(big.len() > small.len());
        assert!(
            svg(&"x".repeat(8000), "QR").is_none(),
            "too long for any QR code"
        );
    }
}
