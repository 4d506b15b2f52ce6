//! One module per page family; each handler reads the request, calls a service and renders.

pub(crate) mod admin;
pub(crate) mod case;
pub(crate) mod exchange;
pub(crate) mod help;
pub(crate) mod inbox;
pub(crate) mod incidents;
pub(crate) mod kb;
pub(crate) mod live;
pub(crate) mod login;
pub(crate) mod macros;
pub(crate) mod portal;
pub(crate) mod status;
pub(crate) mod surveys;
pub(crate) mod team;
pub(crate) mod ticket;
pub(crate) mod verify;

use crate::i18n::Tr;
use chrono::{DateTime, Utc};

/// "5 min ago", "3 h ago", "2 d ago" in the page's language: ages matter more than dates in an
/// inbox.
pub(crate) fn age(tr: &Tr, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let mins = (now - t).num_minutes().max(0);
    if mins < 1 {
        tr.t("age.now").to_owned()
    } else if mins < 60 {
        tr.t1("age.minutes", mins)
    } else if mins < 60 * 24 {
        tr.t1("age.hours", mins / 60)
    } else {
        tr.t1("age.days", mins / (60 * 24))
    }
}
