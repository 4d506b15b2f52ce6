//! Outgoing mail text: built-in templates in English and Chinese that admins may replace, and
//! their rendering (minijinja). Undefined variables are errors, so a typo in an edited template
//! is caught when it is saved, not when a customer gets a blank.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Mail xdesk writes: the answer to a new ticket, and every reply or notice after it.
pub const TEMPLATE_NAMES: &[&str] = &["acknowledgement", "reply"];
/// Languages with built-in text; any other ticket language gets English.
pub const LANGUAGES: &[&str] = &["en", "zh"];

/// What a template can use.
#[derive(Debug, Clone, Serialize)]
pub struct MailContext {
    pub ticket_number: String,
    /// The ticket's subject.
    pub subject: String,
    /// The message being sent (empty in an acknowledgement).
    pub body: String,
    pub customer_name: String,
    /// Who signs: the agent, or the support team's name for automatic mail.
    pub sender_name: String,
    /// The promised first-response time, in words of the mail's language.
    pub first_response: String,
    pub brand: String,
}

#[derive(Debug, thiserror::Error)]
#[error("template error: {0}")]
pub struct TemplateError(String);

/// The language a mail is written in for a ticket language.
pub fn mail_language(ticket_language: &str) -> &'static str {
    if ticket_language.starts_with("zh") {
        "zh"
    } else {
        "en"
    }
}

/// The built-in (subject, body) of a template.
pub fn builtin(name: &str, language: &str) -> Option<(&'static str, &'static str)> {
    Some(match (name, mail_language(language)) {
        ("acknowledgement", "en") => (
            "[{{ ticket_number }}] We received your request: {{ subject }}",
            "Hello {{ customer_name }},\n\n\
             we received your request and opened ticket {{ ticket_number }}. An agent will \
             answer within {{ first_response }}. Reply to this email to add anything, such as \
             screenshots or transaction hashes; keep the ticket number in the subject.\n\n\
             {{ brand }} will never ask for your password, seed phrase, private keys or 2FA \
             codes.\n\n{{ brand }}",
        ),
        ("acknowledgement", _) => (
            "[{{ ticket_number }}] 我们已收到您的请求：{{ subject }}",
            "{{ customer_name }}，您好：\n\n\
             我们已收到您的请求，工单号为 {{ ticket_number }}。客服将在 {{ first_response }}内回复您。\
             如需补充截图或交易哈希等信息，请直接回复本邮件，并保留主题中的工单号。\n\n\
             {{ brand }} 永远不会向您索要密码、助记词、私钥或二次验证码。\n\n{{ brand }}",
        ),
        ("reply", "en") => (
            "Re: {{ subject }} [{{ ticket_number }}]",
            "{{ body }}\n\n{{ sender_name }}\n{{ brand }}\n\n\
             Ticket {{ ticket_number }}. Reply to this email to answer.",
        ),
        ("reply", _) => (
            "回复：{{ subject }} [{{ ticket_number }}]",
            "{{ body }}\n\n{{ sender_name }}\n{{ brand }}\n\n\
             工单号 {{ ticket_number }}。直接回复本邮件即可继续沟通。",
        ),
        _ => return None,
    })
}

/// The (subject, body) of the mail that carries a portal sign-in link. Not admin-editable: it
/// is a security mail whose wording should not drift.
pub fn sign_in_mail(language: &str, brand: &str, link: &str, minutes: u32) -> (String, String) {
    let valid = duration_words(minutes, language);
    if mail_language(language) == "zh" {
        (
            format!("{brand} 支持中心登录链接"),
            format!(
                "您好：\n\n点击下面的链接登录 {brand} 支持中心，查看和提交工单。\
                 链接 {valid}内有效，只能使用一次：\n\n{link}\n\n\
                 如果这不是您本人的操作，请忽略本邮件。\
                 {brand} 永远不会向您索要密码、助记词、私钥或二次验证码。\n\n{brand}"
            ),
        )
    } else {
        (
            format!("Your {brand} support sign-in link"),
            format!(
                "Hello,\n\nopen this link to sign in to {brand} support and see or open \
                 tickets. It works once, within {valid}:\n\n{link}\n\n\
                 If you did not ask for it, ignore this mail. {brand} will never ask for your \
                 password, seed phrase, private keys or 2FA codes.\n\n{brand}"
            ),
        )
    }
}

/// The (subject, body) of the mail inviting a new agent to choose a password.
pub fn invite_mail(language: &str, brand: &str, link: &str, hours: u32) -> (String, String) {
    let valid = duration_words(hours * 60, language);
    if mail_language(language) == "zh" {
        (
            format!("{brand} 客服工作台邀请"),
            format!(
                "您好：\n\n您已被添加为 {brand} 客服。打开下面的链接设置密码（{valid}内有效，只能使用一次）：\
                 \n\n{link}\n\n设置后请在工作台启用二次验证。\n\n{brand}"
            ),
        )
    } else {
        (
            format!("You are invited to the {brand} support console"),
            format!(
                "Hello,\n\nyou were added as an agent of {brand} support. Open this link to \
                 choose your password (it works once, within {valid}):\n\n{link}\n\n\
                 Then turn on two-factor sign-in in the console.\n\n{brand}"
            ),
        )
    }
}

/// A mail's text with what proves it is real: the customer's anti-phishing phrase first (a mail
/// without it did not come from us), and the message's authenticity code last, with where to
/// check it.
pub fn with_trust_marks(
    body: &str,
    language: &str,
    phrase: Option<&str>,
    code: &str,
    verify_url: &str,
    brand: &str,
) -> String {
    let zh = mail_language(language) == "zh";
    let mut out = String::new();
    if let Some(p) = phrase.filter(|p| !p.trim().is_empty()) {
        out.push_str(&if zh {
            format!("您的防钓鱼码：{p}\n\n")
        } else {
            format!("Your anti-phishing phrase: {p}\n\n")
        });
    }
    out.push_str(body.trim_end());
    out.push_str(&if zh {
        format!(
            "\n\n-- \n邮件防伪码：{code}\n在 {verify_url}?q={code} 可核实此邮件确实来自 {brand}。"
        )
    } else {
        format!(
            "\n\n-- \nAuthenticity code: {code}\nCheck that this mail comes from {brand} at {verify_url}?q={code}"
        )
    });
    out
}

/// The mail an on-duty supervisor gets when something cannot wait: `kind` is `urgent` (money
/// at risk), `sla_breached` (a promise broke, `clock` names it) or `escalated` (the customer
/// escalated after a promise passed).
pub fn supervisor_alert_mail(
    language: &str,
    brand: &str,
    kind: &str,
    ticket_number: &str,
    subject: &str,
    link: &str,
) -> (String, String) {
    let zh = mail_language(language) == "zh";
    let what = match (kind, zh) {
        ("urgent", false) => "Money at risk: this ticket is urgent and routed first.",
        ("urgent", true) => "资金风险：此工单为紧急工单，已优先分配。",
        ("sla_breached", false) => "A promise to the customer was broken (SLA breached).",
        ("sla_breached", true) => "对客户的承诺已超时（SLA 违约）。",
        ("escalated", false) => "The customer escalated after the promised time passed.",
        ("escalated", true) => "承诺时间已过，客户已升级此工单。",
        (_, false) => "This ticket needs a supervisor.",
        (_, true) => "此工单需要主管处理。",
    };
    if zh {
        (
            format!("[{ticket_number}] 需要处理：{subject}"),
            format!(
                "{what}\n\n工单 {ticket_number}：{subject}\n{link}\n\n您收到此邮件是因为您是当值主管（状态为在线或暂离）。\n\n{brand}"
            ),
        )
    } else {
        (
            format!("[{ticket_number}] Needs you: {subject}"),
            format!(
                "{what}\n\nTicket {ticket_number}: {subject}\n{link}\n\nYou get this as a supervisor on duty (status online or away).\n\n{brand}"
            ),
        )
    }
}

/// A duration in minutes, in words: "4 hours", "90 minutes", "4 小时", "90 分钟".
pub fn duration_words(minutes: u32, language: &str) -> String {
    let zh = mail_language(language) == "zh";
    match (minutes.is_multiple_of(60) && minutes > 0, zh) {
        (true, false) if minutes == 60 => "1 hour".into(),
        (true, false) => format!("{} hours", minutes / 60),
        (true, true) => format!("{} 小时", minutes / 60),
        (false, false) if minutes == 1 => "1 minute".into(),
        (false, false) => format!("{minutes} minutes"),
        (false, true) => format!("{minutes} 分钟"),
    }
}

/// A promise with its due time: "4 hours (by 2026-11-23 10:00 UTC)". The time says when, as
/// the target counts working time only.
pub fn promise_words(minutes: u32, due: chrono::DateTime<chrono::Utc>, language: &str) -> String {
    let at = due.format("%Y-%m-%d %H:%M UTC");
    if mail_language(language) == "zh" {
        format!("{}（{at} 前）", duration_words(minutes, language))
    } else {
        format!("{} (by {at})", duration_words(minutes, language))
    }
}

/// Renders a (subject, body) pair. The subject becomes one line, so no template can inject a
/// header.
pub fn render(
    subject: &str,
    body: &str,
    ctx: &MailContext,
) -> Result<(String, String), TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let r = |src: &str| {
        env.render_str(src, ctx)
            .map_err(|e| TemplateError(e.to_string()))
    };
    let subject = r(subject)?.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = r(body)?;
    if subject.is_empty() {
        return Err(TemplateError("the subject renders empty".into()));
    }
    Ok((subject, body))
}

/// Plausible values for checking a template before it is saved.
pub fn sample_context(language: &str) -> MailContext {
    MailContext {
        ticket_number: "XD-10001".into(),
        subject: "Withdrawal not received".into(),
        body: "Your withdrawal was sent; it needs 12 confirmations.".into(),
        customer_name: "Alice".into(),
        sender_name: "Bob".into(),
        first_response: duration_words(240, language),
        brand: "Support".into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtins_render_in_both_languages() {
        for name in TEMPLATE_NAMES {
            for lang in LANGUAGES {
                let (s, b) = builtin(name, lang).unwrap();
                let (subject, body) = render(s, b, &sample_context(lang)).unwrap();
                assert!(subject.contains("XD-10001"), "{name}/{lang}: {subject}");
                assert!(!body.is_empty());
            }
        }
        let (s, b) = builtin("acknowledgement", "zh-CN").unwrap();
        let (_, body) = render(s, b, &sample_context("zh")).unwrap();
        assert!(body.contains("4 小时内"), "{body}");
        let (s, b) = builtin("acknowledgement", "fr").unwrap();
        let (_, body) = render(s, b, &sample_context("en")).unwrap();
        assert!(body.contains("within 4 hours"), "{body}");
    }

    #[test]
    fn typos_and_header_injection_are_caught() {
        let ctx = sample_context("en");
        assert!(render("{{ ticket_numbr }}", "x", &ctx).is_err());
        assert!(render("{{ ticket_number", "x", &ctx).is_err());
        let (subject, _) = render("a\r\nBcc: evil@x.test {{ ticket_number }}", "x", &ctx).unwrap();
        assert_eq!(subject, "a Bcc: evil@x.test XD-10001");
        assert!(render("   ", "x", &ctx).is_err());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(60, "en"), "1 hour");
        assert_eq!(duration_words(240, "en"), "4 hours");
        assert_eq!(duration_words(90, "en"), "90 minutes");
        assert_eq!(duration_words(1440, "zh"), "24 小时");
    }
}
