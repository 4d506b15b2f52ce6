//! The access matrix: every route of the API and of the pages, called by every kind of caller,
//! against resources that belong to someone. The expected outcome of every cell is written in
//! [`rows`], one table; a route found in the routers' source or in the OpenAPI document without
//! a row fails the test, and so does a row whose route no longer exists. A new endpoint cannot
//! ship without a decision about who may call it.
//!
//! Callers (the columns, in this order):
//! anonymous | customer A, customer B (portal sessions) | agent of group X, agent of group Y,
//! supervisor of group X | admin (2FA enrolled) | API keys with one scope each: tickets:read,
//! tickets:write, customers:read, customers:write.
//!
//! Resources: ticket `$TA` is customer A's, in group X, unassigned, with an attachment; `$TB`
//! is customer B's, in group Y. Customers use their portal cookie everywhere (the API does not
//! know it); agents a bearer session token on the API and the session cookie on pages; API keys
//! their key as bearer, and on pages as the session cookie (which pages must not take).
//!
//! Outcomes: `+` allowed (anything but 401/403/404 and a redirect to sign in), `U` 401 or, for a
//! page, a redirect to a sign-in page, `F` 403, `N` 404 (the caller must not learn the resource
//! exists). A 5xx is always a failure. A 401 for a wrong step-up code (`two_factor_required`,
//! or the page's words for it) comes after the caller was let in, so it counts as allowed.
//!
//! Mutations are judged by status class only. Each row's body is chosen so that an allowed call
//! changes nothing that later cells read: either it is refused by validation after the
//! authorisation (an allowed caller gets 4xx other than 401/403/404), or it acts on a throwaway
//! resource made for the one cell (`$N…` placeholders: a fresh ticket, macro, agent, …). Rows
//! marked `fresh` change their caller (sign-out, 2FA enrolment): their agents are throwaway
//! copies with the same role and groups, their customers fresh portal sessions.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The callers, in the order of the table's columns.
const WHO: [&str; 11] = [
    "anonymous",
    "customer A",
    "customer B",
    "agent X",
    "agent Y",
    "supervisor X",
    "admin",
    "key tickets:read",
    "key tickets:write",
    "key customers:read",
    "key customers:write",
];

/// The double-submit CSRF token every page caller carries (cookie and form field).
const CSRF: &str = "MatrixCsrfToken0123456789abcdefX";

#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    /// urlencoded; the CSRF field is added.
    Form(&'static str),
    /// Text fields; the CSRF field is added. A field named `files` is sent as a file.
    Multipart(&'static [(&'static str, &'static str)]),
    /// A raw mail (`message/rfc822`).
    Mail(&'static str),
    /// A WebSocket upgrade.
    Ws,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// JSON API and other machine routes: bearer credentials.
    Api,
    /// HTML pages: cookies and CSRF.
    Page,
    /// The chat widget's routes: customers pass their portal token as `token=`, others their
    /// bearer credential; the anonymous caller is a fresh visitor.
    Widget,
}

struct Row {
    method: &'static str,
    /// The route as the router declares it.
    route: &'static str,
    /// What is called, with `$…` placeholders for fixtures.
    call: &'static str,
    kind: Kind,
    body: Body,
    expect: &'static str,
    fresh: bool,
}

fn api(
    method: &'static str,
    route: &'static str,
    call: &'static str,
    body: Body,
    expect: &'static str,
) -> Row {
    Row {
        method,
        route,
        call,
        kind: Kind::Api,
        body,
        expect,
        fresh: false,
    }
}

fn page(
    method: &'static str,
    route: &'static str,
    call: &'static str,
    body: Body,
    expect: &'static str,
) -> Row {
    Row {
        method,
        route,
        call,
        kind: Kind::Page,
        body,
        expect,
        fresh: false,
    }
}

fn widget(
    method: &'static str,
    route: &'static str,
    call: &'static str,
    body: Body,
    expect: &'static str,
) -> Row {
    Row {
        method,
        route,
        call,
        kind: Kind::Widget,
        body,
        expect,
        fresh: false,
    }
}

impl Row {
    fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }
}

use Body::{Form, Json, Mail, Multipart, None as NoBody, Ws};

/// THE TABLE. Columns: anon | custA custB | agentX agentY superX | admin | keys TR TW CR CW.
#[rustfmt::skip]
fn rows() -> Vec<Row> {
    vec![
        // ---- Tickets
        api("GET", "/api/v1/tickets", "/api/v1/tickets", NoBody, "U UU +++ + +FFF"),
        api("POST", "/api/v1/tickets", "/api/v1/tickets", Json(r#"{"subject":"Matrix","body":"hello","customer":{"email":"matrix-new@example.com"},"group_id":$GX}"#), "U UU +++ + F+FF"),
        api("GET", "/api/v1/tickets/search", "/api/v1/tickets/search?q=matrix", NoBody, "U UU +++ + +FFF"),
        api("GET", "/api/v1/tickets/{id}", "/api/v1/tickets/$TA", NoBody, "U UU +N+ + +FFF"),
        api("PATCH", "/api/v1/tickets/{id}", "/api/v1/tickets/$TA", Json(r#"{"version":999999,"priority":"low"}"#), "U UU +N+ + F+FF"),
        api("POST", "/api/v1/tickets/{id}/replies", "/api/v1/tickets/$NT/replies", Json(r#"{"body":"matrix reply"}"#), "U UU +N+ + FFFF"),
        api("POST", "/api/v1/tickets/{id}/notes", "/api/v1/tickets/$NT/notes", Json(r#"{"body":"matrix note"}"#), "U UU +N+ + FFFF"),
        api("POST", "/api/v1/tickets/{id}/attachments", "/api/v1/tickets/$NT/attachments", Multipart(&[("file", "matrix")]), "U UU +N+ + FFFF"),
        api("GET", "/api/v1/tickets/{id}/history", "/api/v1/tickets/$TA/history", NoBody, "U UU +N+ + +FFF"),
        api("POST", "/api/v1/tickets/{id}/merge", "/api/v1/tickets/$NT/merge", Json(r#"{"into":$NT2}"#), "U UU +N+ + F+FF"),
        // Issue 18: an empty selection is refused after authorisation (422) for every caller let in.
        api("POST", "/api/v1/tickets/bulk", "/api/v1/tickets/bulk", Json(r#"{"ids":[],"state":"open"}"#), "U UU +++ + F+FF"),
        api("POST", "/api/v1/tickets/{id}/split", "/api/v1/tickets/$NT/split", Json(r#"{"message_id":$NTMSG}"#), "U UU +N+ + F+FF"),
        api("GET", "/api/v1/attachments/{id}", "/api/v1/attachments/$ATT", NoBody, "U UU +N+ + +FFF"),
        // Issue 17: any API key read SLA clocks, whatever its scope.
        api("GET", "/api/v1/tickets/{id}/sla", "/api/v1/tickets/$TA/sla", NoBody, "U UU +N+ + +FFF"),
        // Issue 17: a preview took an API key of any scope; macros are for agents.
        api("GET", "/api/v1/tickets/{id}/macros/{macro_id}", "/api/v1/tickets/$TA/macros/$MAC", NoBody, "U UU +N+ + FFFF"),
        api("POST", "/api/v1/tickets/{id}/macros/{macro_id}", "/api/v1/tickets/$NT/macros/$MAC", NoBody, "U UU +N+ + FFFF"),
        // ---- The exchange's account behind a ticket
        api("GET", "/api/v1/tickets/{id}/exchange", "/api/v1/tickets/$TA/exchange", NoBody, "U UU +N+ + FFFF"),
        // Authorised before the request is validated, so a refusal never depends on the body.
        api("POST", "/api/v1/tickets/{id}/exchange/unmask", "/api/v1/tickets/$TA/exchange/unmask", Json(r#"{"field":"nickname","reason":"matrix"}"#), "U UU +N+ + FFFF"),
        api("POST", "/api/v1/tickets/{id}/exchange/actions", "/api/v1/tickets/$TA/exchange/actions", Json(r#"{"action":"nothing","reason":"matrix","totp":"000000"}"#), "U UU +N+ + FFFF"),
        // A 2FA reset agent X asked for waits on $TA; a wrong step-up code counts as allowed.
        api("POST", "/api/v1/tickets/{id}/exchange/approve", "/api/v1/tickets/$TA/exchange/approve", Json(r#"{"totp":"000000"}"#), "U UU FF+ + FFFF"),
        api("POST", "/api/v1/tickets/{id}/chain-check", "/api/v1/tickets/$TA/chain-check", NoBody, "U UU +N+ + FFFF"),
        // ---- Sign-in and the caller
        api("POST", "/api/v1/auth/login", "/api/v1/auth/login", Json(r#"{"email":"other@x.test","password":"correct horse battery staple"}"#), "+ ++ +++ + ++++"),
        api("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", NoBody, "+ ++ +++ + ++++").fresh(),
        api("POST", "/api/v1/auth/totp", "/api/v1/auth/totp", NoBody, "U UU +++ + FFFF").fresh(),
        api("POST", "/api/v1/auth/totp/confirm", "/api/v1/auth/totp/confirm", Json(r#"{"code":"000000"}"#), "U UU +++ + FFFF").fresh(),
        // New recovery codes: an agent's own, with a current code (without 2FA: 403).
        api("POST", "/api/v1/auth/recovery-codes", "/api/v1/auth/recovery-codes", Json(r#"{"code":"000000"}"#), "U UU +F+ + FFFF"),
        api("GET", "/api/v1/agents/me", "/api/v1/agents/me", NoBody, "U UU +++ + FFFF"),
        // ---- Agents, groups, the team
        api("GET", "/api/v1/agents", "/api/v1/agents", NoBody, "U UU +++ + FFFF"),
        api("POST", "/api/v1/agents", "/api/v1/agents", Json(r#"{"email":"agent@x.test","display_name":"Dup","role":"agent","password":"correct horse battery staple","group_ids":[]}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/agents/{id}/active", "/api/v1/agents/$NAG/active", Json(r#"{"active":false}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/agents/{id}/status", "/api/v1/agents/$AGX/status", Json(r#"{"status":"matrix"}"#), "U UU +F+ + FFFF"),
        api("PUT", "/api/v1/agents/{id}/routing", "/api/v1/agents/$AGX/routing", Json(r#"{"languages":"en","skills":"","capacity":"many"}"#), "U UU FFF + FFFF"),
        api("GET", "/api/v1/team", "/api/v1/team", NoBody, "U UU FF+ + FFFF"),
        api("GET", "/api/v1/reports/satisfaction", "/api/v1/reports/satisfaction", NoBody, "U UU +++ + FFFF"),
        // Issue 19: surge alerts are for supervisors and admins (the first dismissal lands, later ones are 409).
        api("GET", "/api/v1/surges", "/api/v1/surges", NoBody, "U UU FF+ + FFFF"),
        api("GET", "/api/v1/surges/{id}", "/api/v1/surges/$SRG", NoBody, "U UU FF+ + FFFF"),
        api("POST", "/api/v1/surges/{id}/dismiss", "/api/v1/surges/$SRG/dismiss", NoBody, "U UU FF+ + FFFF"),
        api("GET", "/api/v1/groups", "/api/v1/groups", NoBody, "U UU +++ + +FFF"),
        api("POST", "/api/v1/groups", "/api/v1/groups", Json(r#"{"name":"","description":""}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/groups/{id}/assignment", "/api/v1/groups/$GX/assignment", Json(r#"{"strategy":"matrix","reassign_on_breach":false}"#), "U UU FFF + FFFF"),
        // ---- Configuration
        api("GET", "/api/v1/routing-rules", "/api/v1/routing-rules", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/routing-rules", "/api/v1/routing-rules", Json(r#"{"intent":"matrix","group_id":$GX}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/routing-rules/{id}", "/api/v1/routing-rules/$NRULE", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/sla/calendars", "/api/v1/sla/calendars", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/sla/calendars", "/api/v1/sla/calendars", Json(r#"{"name":"","week":[]}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/sla/calendars/{id}", "/api/v1/sla/calendars/$CAL", Json(r#"{"name":"","week":[]}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/sla/calendars/{id}", "/api/v1/sla/calendars/$NCAL", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/sla/policies", "/api/v1/sla/policies", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/sla/policies", "/api/v1/sla/policies", Json(r#"{"name":"","first_response_minutes":1,"next_response_minutes":1,"resolution_minutes":1}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/sla/policies/{id}", "/api/v1/sla/policies/$NPOL", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/macros", "/api/v1/macros", NoBody, "U UU +++ + FFFF"),
        api("POST", "/api/v1/macros", "/api/v1/macros", Json(r#"{"name":"","body_en":"x"}"#), "U UU FF+ + FFFF"),
        api("PUT", "/api/v1/macros/{id}", "/api/v1/macros/$MAC", Json(r#"{"name":"","body_en":"x"}"#), "U UU FF+ + FFFF"),
        api("DELETE", "/api/v1/macros/{id}", "/api/v1/macros/$NMAC", NoBody, "U UU FF+ + FFFF"),
        // Issue 19: incidents are read by staff, published by supervisors and admins; components
        // are configuration (admins); any agent links tickets they can see.
        api("GET", "/api/v1/components", "/api/v1/components", NoBody, "U UU +++ + FFFF"),
        api("POST", "/api/v1/components", "/api/v1/components", Json(r#"{"name":""}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/components/{id}", "/api/v1/components/$COMP", Json(r#"{"name":""}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/components/{id}", "/api/v1/components/$NCOMP", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/components/{id}/status", "/api/v1/components/$COMP/status", Json(r#"{"status":"bogus"}"#), "U UU FF+ + FFFF"),
        api("GET", "/api/v1/incidents", "/api/v1/incidents", NoBody, "U UU +++ + FFFF"),
        api("POST", "/api/v1/incidents", "/api/v1/incidents", Json(r#"{"title":""}"#), "U UU FF+ + FFFF"),
        api("GET", "/api/v1/incidents/{id}", "/api/v1/incidents/$INC", NoBody, "U UU +++ + FFFF"),
        api("PUT", "/api/v1/incidents/{id}", "/api/v1/incidents/$INC", Json(r#"{"title":""}"#), "U UU FF+ + FFFF"),
        api("POST", "/api/v1/incidents/{id}/updates", "/api/v1/incidents/$INC/updates", Json(r#"{"body":""}"#), "U UU FF+ + FFFF"),
        api("GET", "/api/v1/incidents/{id}/tickets", "/api/v1/incidents/$INC/tickets", NoBody, "U UU +++ + FFFF"),
        api("POST", "/api/v1/incidents/{id}/tickets", "/api/v1/incidents/$INC/tickets", Json(r#"{"ticket_ids":[]}"#), "U UU +++ + FFFF"),
        api("DELETE", "/api/v1/incidents/{id}/tickets/{ticket_id}", "/api/v1/incidents/$INC/tickets/$TA", NoBody, "U UU +N+ + FFFF"),
        api("GET", "/api/v1/tickets/{id}/incidents", "/api/v1/tickets/$TA/incidents", NoBody, "U UU +N+ + +FFF"),
        api("GET", "/api/v1/api-keys", "/api/v1/api-keys", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/api-keys", "/api/v1/api-keys", Json(r#"{"name":"","scopes":[]}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/api-keys/{id}", "/api/v1/api-keys/$NKEY", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/audit", "/api/v1/audit", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/mailboxes", "/api/v1/mailboxes", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/mailboxes", "/api/v1/mailboxes", Json(r#"{"name":"","host":"","username":"","password":""}"#), "U UU FFF + FFFF"),
        api("PUT", "/api/v1/mailboxes/{id}", "/api/v1/mailboxes/$MB", Json(r#"{"name":"","host":"","username":"","password":""}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/mailboxes/{id}", "/api/v1/mailboxes/$NMB", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/email-templates", "/api/v1/email-templates", NoBody, "U UU FFF + FFFF"),
        api("PUT", "/api/v1/email-templates/{name}/{language}", "/api/v1/email-templates/reply/en", Json(r#"{"subject":"","body":""}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/email-templates/{name}/{language}", "/api/v1/email-templates/reply/en", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/official-channels", "/api/v1/official-channels", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/official-channels", "/api/v1/official-channels", Json(r#"{"kind":"matrix","value":"","note":""}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/official-channels/{id}", "/api/v1/official-channels/$NOC", NoBody, "U UU FFF + FFFF"),
        api("GET", "/api/v1/phishing-domains", "/api/v1/phishing-domains", NoBody, "U UU FFF + FFFF"),
        api("POST", "/api/v1/phishing-domains", "/api/v1/phishing-domains", Json(r#"{"domain":"","note":""}"#), "U UU FFF + FFFF"),
        api("DELETE", "/api/v1/phishing-domains/{id}", "/api/v1/phishing-domains/$NPD", NoBody, "U UU FFF + FFFF"),
        // ---- Customers
        api("GET", "/api/v1/customers", "/api/v1/customers", NoBody, "U UU FF+ + FF+F"),
        // Identities named without proof wait for a supervisor (see the identity-link rows).
        api("POST", "/api/v1/customers", "/api/v1/customers", Json(r#"{"name":"x","identities":[]}"#), "U UU +++ + FFF+"),
        // Issue 17: any agent read any customer's identities; now only a customer they serve.
        api("GET", "/api/v1/customers/{id}", "/api/v1/customers/$CA", NoBody, "U UU +N+ + FF+F"),
        // Issue 17, defect 2: identities join a customer only on proof; agents propose, another
        // person (a supervisor) decides, and only supervisors unlink.
        api("GET", "/api/v1/customers/{id}/identity-links", "/api/v1/customers/$CA/identity-links", NoBody, "U UU +N+ + FF+F"),
        api("POST", "/api/v1/customers/{id}/identity-links", "/api/v1/customers/$CA/identity-links", Json(r#"{"kind":"email","value":"matrix-link@example.com","reason":"x"}"#), "U UU +N+ + FFFF"),
        // The first allowed call decides `$LNK`; the others get 409 for a decided request.
        api("POST", "/api/v1/customers/{id}/identity-links/{link_id}/approve", "/api/v1/customers/$CA/identity-links/$LNK/approve", NoBody, "U UU FF+ + FFFF"),
        api("POST", "/api/v1/customers/{id}/identity-links/{link_id}/reject", "/api/v1/customers/$CA/identity-links/$LNK/reject", NoBody, "U UU FF+ + FFFF"),
        // No such identity: whoever may unlink gets past the role check to a 404.
        api("DELETE", "/api/v1/customers/{id}/identities/{identity_id}", "/api/v1/customers/$CA/identities/999999", NoBody, "U UU FFN N FFFF"),
        // ---- Channels
        // Raw mail speaks as its From line: the MTA's key delivers it, never a person (issue 17).
        api("POST", "/api/v1/channels/email/inbound", "/api/v1/channels/email/inbound", Mail("From: Matrix <matrix-mail@example.com>\r\nTo: support@x.test\r\nSubject: Matrix mail\r\nMessage-ID: <matrix-$RND@example.com>\r\n\r\nhello\r\n"), "U UU FFF F F+FF"),
        // The agents' socket refused no API key.
        api("GET", "/api/v1/chat/agent", "/api/v1/chat/agent", Ws, "U UU +++ + FFFF"),
        // The visitors' socket is public; who may join which chat is decided inside it.
        widget("GET", "/api/v1/chat/customer", "/api/v1/chat/customer?ticket=$TA", Ws, "+ ++ +++ + ++++"),
        widget("POST", "/api/v1/chat/uploads", "/api/v1/chat/uploads?ticket=$TA", Mail("matrix"), "N +N NNN N NNNN"),
        widget("GET", "/api/v1/chat/attachments/{id}", "/api/v1/chat/attachments/$ATT?ticket=$TA", NoBody, "N +N NNN N NNNN"),
        // ---- Public
        api("GET", "/api/v1/kb/search", "/api/v1/kb/search?q=2FA", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/api/v1/verify", "/api/v1/verify?q=x.test", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/api/v1/wallet/challenge", "/api/v1/wallet/challenge?address=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed&network=ethereum", NoBody, "+ ++ +++ + ++++"),
        api("POST", "/api/v1/wallet/sign-in", "/api/v1/wallet/sign-in", Json(r#"{"nonce":"matrix","signature":"0x00"}"#), "+ ++ +++ + ++++"),
        api("GET", "/api/openapi.json", "/api/openapi.json", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/api/docs/", "/api/docs/", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/api/docs/openapi.json", "/api/docs/openapi.json", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/widget.js", "/widget.js", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/healthz", "/healthz", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/readyz", "/readyz", NoBody, "+ ++ +++ + ++++"),
        api("GET", "/metrics", "/metrics", NoBody, "+ ++ +++ + ++++"),

        // ==== Pages: the console
        page("GET", "/", "/", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/console", "/console", NoBody, "U UU +++ + UUUU"),
        page("GET", "/console/login", "/console/login", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/console/login", "/console/login", Form("email=other%40x.test&password=correct+horse+battery+staple&next=%2Fconsole"), "+ ++ +++ + ++++"),
        // Signing out ends on the sign-in page: the same redirect as a refusal, for everyone.
        page("POST", "/console/logout", "/console/logout", Form(""), "U UU UUU U UUUU").fresh(),
        page("GET", "/console/live", "/console/live?ticket=$TA", Ws, "U UU +N+ + UUUU"),
        page("GET", "/console/next", "/console/next", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/filters", "/console/filters", Form("name="), "U UU +++ + UUUU"),
        page("POST", "/console/bulk", "/console/bulk", Form("op=state&state=open"), "U UU +++ + UUUU"),
        page("POST", "/console/filters/{id}/delete", "/console/filters/$NFILTER/delete", Form(""), "U UU +NN N UUUU"),
        page("GET", "/console/tickets/{id}", "/console/tickets/$TA", NoBody, "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/reply", "/console/tickets/$NT/reply", Multipart(&[("body", "matrix reply"), ("kind", "reply")]), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/fields", "/console/tickets/$TA/fields", Form("version=999999&priority=low"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/case", "/console/tickets/$NT/case", Form("version=999999"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/accept", "/console/tickets/$NT/accept", Form(""), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/merge", "/console/tickets/$NT/merge", Form("source=$NT2"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/split", "/console/tickets/$NT/split", Form("message_id=$NTMSG"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/reply-check", "/console/tickets/$TA/reply-check", Form("body=hello"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/macro", "/console/tickets/$NT/macro", Form("macro=$MAC"), "U UU +N+ + UUUU"),
        // Issue 18: a macro's filled-in text, reviewed in the reply box before sending.
        page("GET", "/console/tickets/{id}/macros/{macro_id}", "/console/tickets/$TA/macros/$MAC", NoBody, "U UU +N+ + UUUU"),
        page("POST", "/console/check", "/console/check", Form("network=ethereum&tx_hash=0x00"), "U UU +++ + UUUU"),
        // Issue 17: the panel showed a pending 2FA reset (who, why) on tickets out of sight.
        page("GET", "/console/tickets/{id}/exchange", "/console/tickets/$TA/exchange", NoBody, "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/exchange/unmask", "/console/tickets/$TA/exchange/unmask", Form("field=nickname&reason=matrix"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/exchange/act", "/console/tickets/$TA/exchange/act", Form("action=nothing&reason=matrix&totp=000000"), "U UU +N+ + UUUU"),
        page("POST", "/console/tickets/{id}/exchange/approve", "/console/tickets/$TA/exchange/approve", Form("totp=000000"), "U UU FF+ + UUUU"),
        // An identity link decided from the ticket page: supervisors who see the ticket, admins.
        // The first allowed call decides `$LNK2`; the others get 409 for a decided request.
        page("POST", "/console/tickets/{id}/identity-links/{link_id}/{decision}", "/console/tickets/$TA/identity-links/$LNK2/reject", Form(""), "U UU FN+ + UUUU"),
        page("POST", "/console/tickets/{id}/chain-check", "/console/tickets/$TA/chain-check", Form(""), "U UU +N+ + UUUU"),
        page("GET", "/console/kb-report", "/console/kb-report", NoBody, "U UU +++ + UUUU"),
        page("GET", "/console/satisfaction", "/console/satisfaction", NoBody, "U UU +++ + UUUU"),
        page("GET", "/console/team", "/console/team", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/status", "/console/status", Form("status=matrix"), "U UU +++ + UUUU"),
        page("GET", "/console/macros", "/console/macros", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/macros", "/console/macros", Form("name="), "U UU FF+ + UUUU"),
        page("POST", "/console/macros/{id}", "/console/macros/$MAC", Form("name="), "U UU FF+ + UUUU"),
        page("POST", "/console/macros/{id}/delete", "/console/macros/$NMAC/delete", Form(""), "U UU FF+ + UUUU"),
        // Issue 19, the console's incident pages: every agent reads and links what they see;
        // supervisors and admins publish; admins define components.
        page("GET", "/console/incidents", "/console/incidents", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/incidents", "/console/incidents", Form("title="), "U UU FF+ + UUUU"),
        page("GET", "/console/incidents/new", "/console/incidents/new", NoBody, "U UU FF+ + UUUU"),
        page("POST", "/console/incidents/link", "/console/incidents/link", Form("incident=$INC&ids="), "U UU +++ + UUUU"),
        page("GET", "/console/incidents/{id}", "/console/incidents/$INC", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/incidents/{id}/updates", "/console/incidents/$INC/updates", Form("body="), "U UU FF+ + UUUU"),
        page("POST", "/console/incidents/{id}/edit", "/console/incidents/$INC/edit", Form("title="), "U UU FF+ + UUUU"),
        page("POST", "/console/incidents/{id}/preview", "/console/incidents/$INC/preview", Form("body=hello"), "U UU +++ + UUUU"),
        page("POST", "/console/incidents/{id}/unlink", "/console/incidents/$INC/unlink", Form("ticket=$TA"), "U UU +N+ + UUUU"),
        page("GET", "/console/tickets/{id}/incidents", "/console/tickets/$TA/incidents", NoBody, "U UU +N+ + UUUU"),
        page("GET", "/console/admin/components", "/console/admin/components", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/admin/components", "/console/admin/components", Form("name="), "U UU FFF + UUUU"),
        page("POST", "/console/admin/components/{id}", "/console/admin/components/$COMP", Form("name="), "U UU FFF + UUUU"),
        page("POST", "/console/admin/components/{id}/delete", "/console/admin/components/$NCOMP/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/console/admin/components/{id}/status", "/console/admin/components/$COMP/status", Form("status=bogus"), "U UU FF+ + UUUU"),
        page("GET", "/console/kb", "/console/kb", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/kb/save", "/console/kb/save", Form("slug=&language=en&title="), "U UU +++ + UUUU"),
        page("POST", "/console/kb/preview", "/console/kb/preview", Form("body=hello"), "U UU +++ + UUUU"),
        page("POST", "/console/kb/restore", "/console/kb/restore", Form("slug=address-poisoning&language=en&revision=1"), "U UU +++ + UUUU"),
        page("GET", "/console/kb/{slug}/{language}", "/console/kb/address-poisoning/en", NoBody, "U UU +++ + UUUU"),
        page("GET", "/console/two-factor", "/console/two-factor", NoBody, "U UU +++ + UUUU"),
        page("POST", "/console/two-factor", "/console/two-factor", Form("code=000000"), "U UU +++ + UUUU").fresh(),
        page("GET", "/console/welcome/{token}", "/console/welcome/matrix-token", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/console/welcome/{token}", "/console/welcome/matrix-token", Form("password=correct+horse+battery+staple"), "+ ++ +++ + ++++"),
        // ---- Admin pages
        page("GET", "/admin", "/admin", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/admin/agents", "/admin/agents", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/agents/invite", "/admin/agents/invite", Form("email=&display_name=&role=agent"), "U UU FFF + UUUU"),
        page("POST", "/admin/agents/{id}", "/admin/agents/$NAG", Form("role=matrix"), "U UU FFF + UUUU"),
        page("GET", "/admin/groups", "/admin/groups", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/groups", "/admin/groups", Form("name="), "U UU FFF + UUUU"),
        page("GET", "/admin/official", "/admin/official", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/official", "/admin/official", Form("kind=matrix&value="), "U UU FFF + UUUU"),
        page("POST", "/admin/phishing", "/admin/phishing", Form("domain="), "U UU FFF + UUUU"),
        page("GET", "/admin/sla", "/admin/sla", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/sla/policies", "/admin/sla/policies", Form("name=&first_response_minutes=1&next_response_minutes=1&resolution_minutes=1"), "U UU FFF + UUUU"),
        page("POST", "/admin/sla/calendars", "/admin/sla/calendars", Form("name="), "U UU FFF + UUUU"),
        page("GET", "/admin/routing", "/admin/routing", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/routing", "/admin/routing", Form("group=$GX"), "U UU FFF + UUUU"),
        page("GET", "/admin/mailboxes", "/admin/mailboxes", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/mailboxes", "/admin/mailboxes", Form("name=&port=993"), "U UU FFF + UUUU"),
        page("GET", "/admin/keys", "/admin/keys", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/keys", "/admin/keys", Form("name="), "U UU FFF + UUUU"),
        page("POST", "/admin/integrations", "/admin/integrations", Form("name="), "U UU FFF + UUUU"),
        page("GET", "/admin/templates", "/admin/templates", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/templates/{name}/{language}", "/admin/templates/reply/en", Form("subject=&body="), "U UU FFF + UUUU"),
        page("GET", "/admin/audit", "/admin/audit", NoBody, "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/agents/$NAG/active", Form("active=false"), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/agents/$NAG/reset-2fa", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/agents/$AGX/routing", Form("capacity=many"), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/groups/$GX/assignment", Form("strategy=matrix"), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/sla/$NPOL/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/calendars/$CAL/update", Form("name="), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/calendars/$NCAL/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/official/$NOC/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/phishing/$NPD/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/routing/$NRULE/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/mailboxes/$NMB/delete", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/keys/$NKEY/revoke", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/integrations/$NINT/revoke", Form(""), "U UU FFF + UUUU"),
        page("POST", "/admin/{section}/{id}/{verb}", "/admin/nothing/1/matrix", Form(""), "U UU NNN N UUUU"),
        // ---- The portal
        page("GET", "/portal", "/portal", NoBody, "U ++ UUU U UUUU"),
        page("GET", "/portal/sign-in", "/portal/sign-in", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/portal/sign-in", "/portal/sign-in", Form("email=matrix-portal%40example.com"), "+ ++ +++ + ++++"),
        page("GET", "/portal/sign-in/{token}", "/portal/sign-in/matrix-token", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/portal/sign-in/{token}", "/portal/sign-in/matrix-token", Form(""), "U UU UUU U UUUU"),
        page("GET", "/portal/token", "/portal/token?token=matrix-token", NoBody, "U UU UUU U UUUU"),
        // Signing out ends on the portal's sign-in page, as a refusal does.
        page("POST", "/portal/sign-out", "/portal/sign-out", Form(""), "U UU UUU U UUUU").fresh(),
        page("POST", "/portal/phrase", "/portal/phrase", Form("phrase="), "U ++ UUU U UUUU"),
        page("POST", "/portal/wallet", "/portal/wallet", Form("nonce=matrix&signature=0x00"), "+ ++ +++ + ++++"),
        page("POST", "/portal/freeze", "/portal/freeze", Form("confirm=no"), "U +N UUU U UUUU"),
        page("GET", "/portal/new", "/portal/new", NoBody, "U ++ UUU U UUUU"),
        page("POST", "/portal/new", "/portal/new", Multipart(&[("subject", ""), ("body", "")]), "U ++ UUU U UUUU"),
        page("POST", "/portal/check", "/portal/check", Form("network=ethereum&tx_hash=0x00"), "U ++ UUU U UUUU"),
        page("POST", "/portal/suggest", "/portal/suggest", Form("subject=2FA"), "U ++ UUU U UUUU"),
        page("GET", "/portal/suggested/{slug}", "/portal/suggested/address-poisoning", NoBody, "U ++ UUU U UUUU"),
        page("GET", "/portal/suggested/{slug}", "/portal/suggested/agent-identity-check-2fa-reset", NoBody, "U NN UUU U UUUU"),
        page("GET", "/portal/tickets/{id}", "/portal/tickets/$TA", NoBody, "U +N UUU U UUUU"),
        page("POST", "/portal/tickets/{id}/reply", "/portal/tickets/$NT/reply", Multipart(&[("body", "matrix reply")]), "U +N UUU U UUUU"),
        page("POST", "/portal/tickets/{id}/close", "/portal/tickets/$NT/close", Form("version=999999"), "U +N UUU U UUUU"),
        page("POST", "/portal/tickets/{id}/escalate", "/portal/tickets/$NT/escalate", Form("reason="), "U +N UUU U UUUU"),
        page("GET", "/portal/tickets/{id}/transcript.{format}", "/portal/tickets/$TA/transcript.json", NoBody, "U +N UUU U UUUU"),
        page("GET", "/portal/attachments/{id}", "/portal/attachments/$ATT", NoBody, "U +N UUU U UUUU"),
        // ---- Public pages
        page("GET", "/survey/{token}", "/survey/matrix-token", NoBody, "N NN NNN N NNNN"),
        page("POST", "/survey/{token}", "/survey/matrix-token", Form("score=5"), "N NN NNN N NNNN"),
        page("GET", "/verify", "/verify?q=x.test", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/help", "/help", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/help/search", "/help/search?q=2FA", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/help/categories/{slug}", "/help/categories/deposits", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/help/articles/{slug}", "/help/articles/address-poisoning", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/help/articles/{slug}", "/help/articles/agent-identity-check-2fa-reset", NoBody, "N NN NNN N NNNN"),
        page("POST", "/help/articles/{slug}/vote", "/help/articles/address-poisoning/vote", Form("helpful=1"), "+ ++ +++ + ++++"),
        page("POST", "/help/articles/{slug}/vote", "/help/articles/agent-identity-check-2fa-reset/vote", Form("helpful=1"), "N NN NNN N NNNN"),
        page("GET", "/sitemap.xml", "/sitemap.xml", NoBody, "+ ++ +++ + ++++"),
        // Issue 19: the public status page and its machine-readable forms: anyone reads them.
        page("GET", "/status", "/status", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/status/incidents/{id}", "/status/incidents/$INC", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/status/{file}", "/status/summary.json", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/status/{file}", "/status/feed.atom", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/status/subscribe", "/status/subscribe", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/status/subscribe", "/status/subscribe", Form("email=not-an-address"), "+ ++ +++ + ++++"),
        page("GET", "/status/subscribe/confirm", "/status/subscribe/confirm?t=unknown", NoBody, "N NN NNN N NNNN"),
        page("GET", "/status/unsubscribe", "/status/unsubscribe?t=unknown", NoBody, "+ ++ +++ + ++++"),
        page("POST", "/status/unsubscribe", "/status/unsubscribe?t=unknown", Form("List-Unsubscribe=One-Click"), "+ ++ +++ + ++++"),
        page("GET", "/ui/lang/{code}", "/ui/lang/zh", NoBody, "+ ++ +++ + ++++"),
        page("GET", "/static/{file}", "/static/app.css", NoBody, "+ ++ +++ + ++++"),
    ]
}

// ---------------------------------------------------------------------------------------------
// Which routes exist: the routers' source and the OpenAPI document.

/// Every (method, route) the routers declare: each `.route("…", get(…).post(…))` in the web
/// and UI crates' sources (under `/api/v1` where xdesk-web nests it), and Swagger UI's paths.
fn source_routes() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["xdesk-web/src", "xdesk-ui/src"] {
        collect_rs(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 5,
        "router sources not found under {}",
        root.display()
    );
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let nested = text.find(".nest(\"/api/v1\"");
        assert!(
            nested.is_none() || f.ends_with("xdesk-web/src/lib.rs"),
            "{}: nests routes; teach access.rs its prefix",
            f.display()
        );
        let mut at = 0;
        while let Some(i) = text[at..].find(".route(") {
            let start = at + i + ".route(".len();
            let (path, args) = route_call(&text[start..]);
            let prefix = match nested {
                Some(n) if start < n => "/api/v1",
                _ => "",
            };
            let methods = methods_in(args);
            assert!(
                !methods.is_empty(),
                "{}: no method for route {path}",
                f.display()
            );
            for m in methods {
                out.insert((m, format!("{prefix}{path}")));
            }
            at = start;
        }
        if let Some(i) = text.find("SwaggerUi::new(\"") {
            let rest = &text[i + "SwaggerUi::new(\"".len()..];
            let ui = &rest[..rest.find('"').unwrap()];
            out.insert(("GET".into(), format!("{ui}/")));
            let url = &rest[rest.find(".url(\"").unwrap() + ".url(\"".len()..];
            out.insert(("GET".into(), url[..url.find('"').unwrap()].to_owned()));
        }
    }
    out
}

fn collect_rs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The path literal of a `.route(` call and the text of its method router (to the call's
/// closing parenthesis).
fn route_call(s: &str) -> (String, &str) {
    let s0 = s.trim_start();
    assert!(
        s0.starts_with('"'),
        "a route path that is not a literal: {}",
        &s0[..s0.len().min(80)]
    );
    let end = s0[1..].find('"').unwrap() + 1;
    let path = s0[1..end].to_owned();
    let rest = &s0[end + 1..];
    let mut depth = 1;
    let mut in_str = false;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return (path, &rest[..i]);
                }
            }
            _ => {}
        }
    }
    panic!("unclosed .route( for {path}");
}

/// The HTTP methods a method router names: `get(`, `post(`, … at the start of a call chain
/// link, not as a part of another name.
fn methods_in(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in ["get", "post", "put", "patch", "delete"] {
        let needle = format!("{m}(");
        let mut at = 0;
        while let Some(i) = args[at..].find(&needle) {
            let pos = at + i;
            let before = args[..pos].chars().last().unwrap_or(' ');
            if !(before.is_alphanumeric() || before == '_' || before == ':') {
                out.push(m.to_uppercase());
            }
            at = pos + needle.len();
        }
    }
    out
}

/// Every (method, path) of the OpenAPI document.
fn openapi_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The callers and the fixtures.

#[derive(Clone, Default)]
struct Caller {
    bearer: Option<String>,
    session: Option<String>,
    portal: Option<String>,
}

struct Matrix {
    app: TestApp,
    callers: Vec<Caller>,
    /// Placeholders that name the fixed fixtures.
    fixed: HashMap<&'static str, String>,
    admin: String,
    customer_a: i64,
    customer_b: i64,
    http: reqwest::Client,
}

impl Matrix {
    async fn new(db: Db) -> Option<Matrix> {
        let exchange = xdesk_demo_exchange::start("matrix-connector")
            .await
            .unwrap();
        let url = exchange.url.clone();
        // The demo exchange lives as long as the test's runtime.
        std::mem::forget(exchange);
        let app = spawn_app_with(db, move |c| {
            c.exchange = Some(xdesk::config::ExchangeConfig {
                url,
                token: "matrix-connector".into(),
                timeout_secs: 5,
            })
        })
        .await?;
        let services = app.running.as_ref().unwrap().services.clone();
        let admin = app.admin_token().await;
        let super_x = services
            .create_agent(
                &xdesk_service::Principal::System,
                xdesk_service::people::CreateAgent {
                    email: "superx@x.test".into(),
                    display_name: "Super X".into(),
                    role: "supervisor".into(),
                    password: PASSWORD.into(),
                    group_ids: vec![app.payments_group],
                },
            )
            .await
            .unwrap();
        let super_token = app.login(&super_x.email).await;
        let ta = app
            .create_ticket(json!({
                "subject": "Customer A's withdrawal",
                "body": "Where is my USDT?",
                "customer": {"email": "cust-a@example.com", "exchange_uid": "U1001", "name": "A"},
                "group_id": app.payments_group,
                "channel": "chat",
                "attachments": [{"filename": "proof.txt", "content_type": "text/plain",
                                 "content_base64": "cHJvb2Y="}],
            }))
            .await;
        let tb = app
            .create_ticket(json!({
                "subject": "Customer B's deposit",
                "body": "Where is my BTC?",
                "customer": {"email": "cust-b@example.com", "name": "B"},
                "group_id": app.accounts_group,
            }))
            .await;
        // Agent X asks for a 2FA reset of customer A's exchange account: it waits on TA for a
        // supervisor, who must give their own step-up code.
        let agent_secret = app.enrol_totp(&app.agent_token).await;
        app.enrol_totp(&super_token).await;
        let r = app
            .post(
                &app.agent_token,
                &format!("/api/v1/tickets/{}/exchange/actions", ta["id"]),
                json!({"action": "reset_2fa", "reason": "lost their phone", "totp": totp_code(&agent_secret)}),
            )
            .await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["result"], "pending_approval", "{v}");
        let customer_a = ta["customer_id"].as_i64().unwrap();
        let customer_b = tb["customer_id"].as_i64().unwrap();
        let att = ta["messages"][0]["attachments"][0]["id"].as_i64().unwrap();
        let mac = app
            .post(
                &admin,
                "/api/v1/macros",
                json!({"name": "Matrix", "body_en": "Hello from the matrix"}),
            )
            .await;
        assert_eq!(mac.status(), StatusCode::CREATED);
        let mac: Value = mac.json().await.unwrap();
        let mut m = Matrix {
            callers: Vec::new(),
            fixed: HashMap::new(),
            admin: admin.clone(),
            customer_a,
            customer_b,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            app,
        };
        xdesk::demo::seed_knowledge_base(&services).await.unwrap();
        let mut keys = Vec::new();
        for scope in [
            "tickets:read",
            "tickets:write",
            "customers:read",
            "customers:write",
        ] {
            let (_, key) = services
                .create_api_key(scope, &[scope.to_owned()])
                .await
                .unwrap();
            keys.push(key);
        }
        let portal_a = m.portal_session(customer_a).await;
        let portal_b = m.portal_session(customer_b).await;
        let agent = |t: &str| Caller {
            bearer: Some(t.to_owned()),
            session: Some(t.to_owned()),
            portal: None,
        };
        let customer = |t: String| Caller {
            portal: Some(t),
            ..Caller::default()
        };
        m.callers = vec![
            Caller::default(),
            customer(portal_a),
            customer(portal_b),
            agent(&m.app.agent_token),
            agent(&m.app.other_agent_token),
            agent(&super_token),
            agent(&admin),
        ];
        for k in keys {
            m.callers.push(agent(&k));
        }
        let cal = m.admin_create("/api/v1/sla/calendars", json!({"name": "Matrix hours", "week": [["09:00","18:00"],["09:00","18:00"],["09:00","18:00"],["09:00","18:00"],["09:00","18:00"],null,null]})).await;
        let mb = m.new_mailbox().await;
        let r = m
            .app
            .post(
                &m.app.agent_token,
                &format!("/api/v1/customers/{customer_a}/identity-links"),
                json!({"kind": "email", "value": "cust-a.work@example.com",
                       "reason": "said so on the phone"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let lnk = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = m
            .app
            .post(
                &m.app.agent_token,
                &format!("/api/v1/customers/{customer_a}/identity-links"),
                json!({"kind": "email", "value": "cust-a.home@example.com",
                       "reason": "said so in the chat"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let lnk2 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let srg = crate::surge::fixture(m.services()).await;
        let comp = m
            .admin_create(
                "/api/v1/components",
                json!({"name": "Deposits", "name_zh": "充值"}),
            )
            .await;
        let inc = m
            .app
            .post(
                &m.admin,
                "/api/v1/incidents",
                json!({"title": "Matrix incident", "body": "Looking into it"}),
            )
            .await;
        assert_eq!(inc.status(), StatusCode::CREATED);
        let inc = inc.json::<Value>().await.unwrap()["incident"]["id"]
            .as_i64()
            .unwrap();
        for (k, v) in [
            ("$TA", ta["id"].to_string()),
            ("$TB", tb["id"].to_string()),
            ("$CA", customer_a.to_string()),
            ("$CB", customer_b.to_string()),
            ("$ATT", att.to_string()),
            ("$MAC", mac["id"].to_string()),
            ("$AGX", m.app.agent_id.to_string()),
            ("$GX", m.app.payments_group.to_string()),
            ("$GY", m.app.accounts_group.to_string()),
            ("$CAL", cal.to_string()),
            ("$MB", mb.to_string()),
            ("$LNK", lnk.to_string()),
            ("$LNK2", lnk2.to_string()),
            ("$SRG", srg.to_string()),
            ("$COMP", comp.to_string()),
            ("$INC", inc.to_string()),
        ] {
            m.fixed.insert(k, v);
        }
        Some(m)
    }

    fn services(&self) -> &xdesk_service::Services {
        &self.app.running.as_ref().unwrap().services
    }

    async fn portal_session(&self, customer: i64) -> String {
        let token = format!("xdc_{}", uuid::Uuid::new_v4().simple());
        self.services()
            .store
            .create_customer_session(
                &xdesk_service::auth::sha256_hex(&token),
                customer,
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
        token
    }

    /// Creates something through the API as the admin; its id.
    async fn admin_create(&self, path: &str, body: Value) -> i64 {
        let r = self.app.post(&self.admin, path, body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{path}: {v}");
        v["id"].as_i64().unwrap()
    }

    async fn new_mailbox(&self) -> i64 {
        self.admin_create(
            "/api/v1/mailboxes",
            json!({"name": format!("mx-{}", uuid::Uuid::new_v4().simple()), "host": "127.0.0.1",
                   "port": 1, "tls": "none", "username": "u", "password": "p",
                   "group_id": self.app.payments_group}),
        )
        .await
    }

    /// A new ticket of customer A in group X: (id, its first message's id).
    async fn new_ticket(&self) -> (i64, i64) {
        let t = self
            .app
            .create_ticket(json!({
                "subject": "Throwaway",
                "body": "For one cell",
                "customer": {"email": "cust-a@example.com"},
                "group_id": self.app.payments_group,
            }))
            .await;
        (
            t["id"].as_i64().unwrap(),
            t["messages"][0]["id"].as_i64().unwrap(),
        )
    }

    /// Makes a throwaway resource for one cell; its id.
    async fn fresh(&self, name: &str, cell: &mut HashMap<String, String>) -> String {
        let id = match name {
            "$NT" | "$NTMSG" => {
                let (t, m) = self.new_ticket().await;
                cell.insert("$NTMSG".into(), m.to_string());
                cell.insert("$NT".into(), t.to_string());
                return cell[name].clone();
            }
            "$NT2" => self.new_ticket().await.0,
            "$NMAC" => {
                self.admin_create("/api/v1/macros", json!({"name": format!("m-{}", uuid::Uuid::new_v4().simple()), "body_en": "x"}))
                    .await
            }
            "$NRULE" => {
                self.admin_create("/api/v1/routing-rules", json!({"language": "en", "group_id": self.app.payments_group}))
                    .await
            }
            "$NCAL" => {
                self.admin_create("/api/v1/sla/calendars", json!({"name": format!("c-{}", uuid::Uuid::new_v4().simple()), "week": [["09:00","18:00"],null,null,null,null,null,null]}))
                    .await
            }
            "$NPOL" => {
                self.admin_create("/api/v1/sla/policies", json!({"name": format!("p-{}", uuid::Uuid::new_v4().simple()), "priority": "urgent", "first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 600}))
                    .await
            }
            "$NKEY" => {
                self.admin_create("/api/v1/api-keys", json!({"name": format!("k-{}", uuid::Uuid::new_v4().simple()), "scopes": ["tickets:read"]}))
                    .await
            }
            "$NCOMP" => {
                self.admin_create("/api/v1/components", json!({"name": format!("c-{}", uuid::Uuid::new_v4().simple())}))
                    .await
            }
            "$NMB" => self.new_mailbox().await,
            "$NOC" => {
                self.admin_create("/api/v1/official-channels", json!({"kind": "domain", "value": format!("{}.example.org", uuid::Uuid::new_v4().simple()), "note": ""}))
                    .await
            }
            "$NPD" => {
                self.admin_create("/api/v1/phishing-domains", json!({"domain": format!("{}.example.net", uuid::Uuid::new_v4().simple()), "note": ""}))
                    .await
            }
            "$NAG" => {
                self.admin_create("/api/v1/agents", json!({"email": format!("{}@x.test", uuid::Uuid::new_v4().simple()), "display_name": "Throwaway", "role": "agent", "password": PASSWORD, "group_ids": [self.app.accounts_group]}))
                    .await
            }
            "$NINT" => {
                let admin = self.services().authenticate(&self.admin).await.unwrap();
                self.services()
                    .create_integration(&admin, &format!("i-{}", uuid::Uuid::new_v4().simple()))
                    .await
                    .unwrap()
                    .0
                    .id
            }
            "$NFILTER" => {
                let agent = self
                    .services()
                    .authenticate(&self.app.agent_token)
                    .await
                    .unwrap();
                self.services()
                    .save_filter(&agent, &format!("f-{}", uuid::Uuid::new_v4().simple()), &xdesk_service::filters::FilterSpec { states: vec!["open".into()], ..Default::default() })
                    .await
                    .unwrap()
                    .id
            }
            "$RND" => i64::from(rand_u16()),
            other => panic!("unknown placeholder {other}"),
        };
        id.to_string()
    }

    /// A throwaway copy of caller `who` for a cell that changes its caller.
    async fn fresh_caller(&self, who: usize) -> Caller {
        match who {
            1 | 2 => Caller {
                portal: Some(
                    self.portal_session(if who == 1 {
                        self.customer_a
                    } else {
                        self.customer_b
                    })
                    .await,
                ),
                ..Caller::default()
            },
            3..=6 => {
                let (role, group) = match who {
                    3 => ("agent", Some(self.app.payments_group)),
                    4 => ("agent", Some(self.app.accounts_group)),
                    5 => ("supervisor", Some(self.app.payments_group)),
                    _ => ("admin", None),
                };
                let email = format!("{}@x.test", uuid::Uuid::new_v4().simple());
                self.services()
                    .create_agent(
                        &xdesk_service::Principal::System,
                        xdesk_service::people::CreateAgent {
                            email: email.clone(),
                            display_name: "Copy".into(),
                            role: role.into(),
                            password: PASSWORD.into(),
                            group_ids: group.into_iter().collect(),
                        },
                    )
                    .await
                    .unwrap();
                let token = self.app.login(&email).await;
                if role == "admin" {
                    self.app.enrol_totp(&token).await;
                }
                Caller {
                    bearer: Some(token.clone()),
                    session: Some(token),
                    portal: None,
                }
            }
            _ => self.callers[who].clone(),
        }
    }

    /// Substitutes the placeholders of a cell's path and body.
    async fn resolve(&self, texts: [&str; 2]) -> [String; 2] {
        let mut cell: HashMap<String, String> = HashMap::new();
        let mut out = [texts[0].to_owned(), texts[1].to_owned()];
        for t in &mut out {
            while let Some(i) = t.find('$') {
                let len = t[i + 1..]
                    .find(|c: char| !c.is_ascii_uppercase() && !c.is_ascii_digit())
                    .unwrap_or(t.len() - i - 1);
                let name = t[i..i + 1 + len].to_owned();
                let value = if let Some(v) = self.fixed.get(name.as_str()) {
                    v.clone()
                } else if let Some(v) = cell.get(&name) {
                    v.clone()
                } else {
                    let v = self.fresh(&name, &mut cell).await;
                    cell.insert(name.clone(), v.clone());
                    v
                };
                t.replace_range(i..i + 1 + len, &value);
            }
        }
        out
    }

    /// Calls one cell; its outcome and a note on what came back.
    async fn call(&self, row: &Row, who: usize) -> (char, String) {
        let caller = if row.fresh {
            self.fresh_caller(who).await
        } else {
            self.callers[who].clone()
        };
        let body_text = match row.body {
            Json(s) | Form(s) | Mail(s) => s,
            _ => "",
        };
        let [mut path, body_text] = self.resolve([row.call, body_text]).await;
        if row.kind == Kind::Widget {
            let sep = if path.contains('?') { '&' } else { '?' };
            path = match (&caller.portal, &caller.bearer) {
                (Some(t), _) | (None, Some(t)) => format!("{path}{sep}token={t}"),
                (None, None) => format!(
                    "{path}{sep}visitor=matrix-{}",
                    uuid::Uuid::new_v4().simple()
                ),
            };
        }
        let url = self.app.url(&path);
        let mut cookies = Vec::new();
        let mut bearer = None;
        match row.kind {
            Kind::Api => {
                bearer = caller.bearer.clone();
                if let Some(p) = &caller.portal {
                    cookies.push(format!("xdesk_portal={p}"));
                }
            }
            Kind::Page => {
                cookies.push(format!("xdesk_csrf={CSRF}"));
                if let Some(s) = &caller.session {
                    cookies.push(format!("xdesk_session={s}"));
                }
                if let Some(p) = &caller.portal {
                    cookies.push(format!("xdesk_portal={p}"));
                }
            }
            Kind::Widget => {}
        }
        if let Ws = row.body {
            return self.call_ws(&url, bearer, cookies).await;
        }
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
        let mut req = self.http.request(method, &url);
        if let Some(b) = &bearer {
            req = req.bearer_auth(b);
        }
        if !cookies.is_empty() {
            req = req.header("cookie", cookies.join("; "));
        }
        req = match row.body {
            NoBody | Ws => req,
            Json(_) => req
                .header("content-type", "application/json")
                .body(body_text),
            Form(_) => {
                let form = if body_text.is_empty() {
                    format!("csrf={CSRF}")
                } else {
                    format!("csrf={CSRF}&{body_text}")
                };
                req.header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
            }
            Mail(_) => {
                let kind = if row.kind == Kind::Widget {
                    "text/plain"
                } else {
                    "message/rfc822"
                };
                req.header("content-type", kind).body(body_text)
            }
            Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                if row.kind == Kind::Page {
                    form = form.text("csrf", CSRF);
                }
                for (k, v) in fields {
                    form = if *k == "file" || *k == "files" {
                        form.part(
                            *k,
                            reqwest::multipart::Part::bytes(v.as_bytes().to_vec())
                                .file_name("matrix.txt")
                                .mime_str("text/plain")
                                .unwrap(),
                        )
                    } else {
                        form.text(*k, *v)
                    };
                }
                req.multipart(form)
            }
        };
        let r = req.send().await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.unwrap_or_default();
        let outcome = match classify(status, &location) {
            // Signed in and allowed, but the step-up code was wrong (the API's code, the
            // page's words).
            'U' if text.contains("two_factor_required")
                || text.contains("That code is wrong or was used already") =>
            {
                '+'
            }
            other => other,
        };
        let mut note = format!("{} {}", status.as_u16(), location);
        // A page's message is in its <main>; the API's in its JSON.
        let shown = text.find("<main").map_or(text.as_str(), |i| &text[i..]);
        note.push_str(&shown.chars().take(240).collect::<String>());
        (outcome, note.replace('\n', " "))
    }

    async fn call_ws(
        &self,
        url: &str,
        bearer: Option<String>,
        cookies: Vec<String>,
    ) -> (char, String) {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = url.replacen("http", "ws", 1).into_client_request().unwrap();
        if let Some(b) = bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {b}").parse().unwrap());
        }
        if !cookies.is_empty() {
            req.headers_mut()
                .insert("cookie", cookies.join("; ").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((mut ws, _)) => {
                let _ = ws.close(None).await;
                ('+', "101".into())
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
                let location = r
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                (
                    classify(status, &location),
                    format!("{} {location}", status.as_u16()),
                )
            }
            Err(e) => ('!', format!("websocket: {e}")),
        }
    }
}

fn rand_u16() -> u16 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff) as u16
}

fn classify(status: StatusCode, location: &str) -> char {
    match status.as_u16() {
        401 => 'U',
        403 => 'F',
        404 => 'N',
        300..=399
            if location.starts_with("/console/login")
                || location.starts_with("/portal/sign-in") =>
        {
            'U'
        }
        500..=599 => '!',
        _ => '+',
    }
}

/// A row's expectation without its grouping spaces.
fn expected(row: &Row) -> Vec<char> {
    row.expect.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The outcomes in the table's grouping: anon | customers | agents | admin | keys.
fn grouped(cells: &[char]) -> String {
    let s: String = cells.iter().collect();
    format!(
        "{} {} {} {} {}",
        &s[0..1],
        &s[1..3],
        &s[3..6],
        &s[6..7],
        &s[7..11]
    )
}

async fn run(db: Db) {
    let table = rows();
    let Some(m) = Matrix::new(db).await else {
        return;
    };
    // Coverage: every route has a row, every row a route.
    let declared = source_routes();
    let doc = m.app.get_json(&m.admin, "/api/openapi.json").await;
    let documented = openapi_routes(&doc);
    let mut problems = Vec::new();
    for r in documented.difference(&declared) {
        problems.push(format!(
            "in the OpenAPI document but not in a router: {} {}",
            r.0, r.1
        ));
    }
    let all: BTreeSet<_> = declared.union(&documented).cloned().collect();
    let covered: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.to_owned(), r.route.to_owned()))
        .collect();
    for r in all.difference(&covered) {
        problems.push(format!("no row in the access matrix for {} {}", r.0, r.1));
    }
    for r in covered.difference(&all) {
        problems.push(format!(
            "a row for a route that does not exist: {} {}",
            r.0, r.1
        ));
    }
    // The cells.
    let print = std::env::var("XDESK_MATRIX_PRINT").is_ok();
    let mut by_route: BTreeMap<String, usize> = BTreeMap::new();
    for row in &table {
        *by_route
            .entry(format!("{} {}", row.method, row.call))
            .or_default() += 1;
        let want = expected(row);
        let mut got = Vec::new();
        let mut notes = Vec::new();
        for who in 0..WHO.len() {
            let (outcome, note) = m.call(row, who).await;
            got.push(outcome);
            notes.push(note);
        }
        if got != want || print {
            let mut msg = format!(
                "{} {} (row {:?}): expected {:?}, got \"{}\"",
                row.method,
                row.call,
                row.route,
                row.expect,
                grouped(&got)
            );
            for (who, note) in notes.iter().enumerate() {
                let w = want.get(who).copied().unwrap_or('?');
                if got[who] != w || got[who] == '!' {
                    msg.push_str(&format!("\n    {}: {note}", WHO[who]));
                }
            }
            if got != want {
                problems.push(msg);
            } else {
                eprintln!("{msg}");
            }
        }
    }
    for (call, n) in by_route {
        assert_eq!(n, 1, "two rows call {call}");
    }
    m.app.stop().await;
    assert!(
        problems.is_empty(),
        "access matrix:\n{}",
        problems.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(Db::Postgres).await;
}
