//! Alerts: someone must act on a ticket. Every alert is a live banner in the consoles that
//! should see it (see [`live::LiveEvent::Alert`]); what cannot wait for someone to look at a
//! console (money at risk, a broken promise, a customer's escalation) is also mailed to the
//! supervisors on duty: those of the ticket's group whose status is online or away, or every
//! supervisor and admin on duty when the group has none.

use crate::{Services, live};
use xdesk_domain::identity::Role;
use xdesk_domain::ticket::TicketNumber;
use xdesk_store::{AgentRow, OutboundMail, TicketRow};

/// The alerts mailed as well as shown.
const MAILED: &[&str] = &["urgent", "sla_breached", "escalated"];

fn on_duty(a: &AgentRow) -> bool {
    a.active && a.status != "offline"
}

fn supervises(a: &AgentRow) -> bool {
    a.role == Role::Supervisor.as_str() || a.role == Role::Admin.as_str()
}

impl Services {
    /// Tells consoles that someone must act on a ticket and, for what cannot wait, mails the
    /// supervisors on duty. A mail that cannot be queued is logged: the banner still went.
    pub(crate) async fn alert(&self, ticket: &TicketRow, kind: &str, clock: Option<&str>) {
        self.bus.publish(live::LiveEvent::Alert {
            ticket_id: ticket.id,
            group_id: ticket.group_id,
            assignee_id: ticket.assignee_id,
            kind: kind.to_owned(),
            clock: clock.map(str::to_owned),
            subject: ticket.subject.clone(),
        });
        if !MAILED.contains(&kind) {
            return;
        }
        if let Err(e) = self.mail_supervisors(ticket, kind).await {
            tracing::error!(ticket = ticket.id, kind, error = %e, "alert mail not queued");
        }
    }

    async fn mail_supervisors(
        &self,
        ticket: &TicketRow,
        kind: &str,
    ) -> Result<(), crate::ServiceError> {
        let mut to: Vec<AgentRow> = match ticket.group_id {
            Some(g) => self
                .store
                .group_members(g)
                .await?
                .into_iter()
                .map(|m| m.agent)
                .filter(|a| a.role == Role::Supervisor.as_str() && on_duty(a))
                .collect(),
            None => Vec::new(),
        };
        if to.is_empty() {
            to = self
                .store
                .list_agents()
                .await?
                .into_iter()
                .filter(|a| supervises(a) && on_duty(a))
                .collect();
        }
        let number = TicketNumber::for_ticket(ticket.id).to_string();
        let link = format!(
            "{}/console/tickets/{}",
            self.portal.public_url.trim_end_matches('/'),
            ticket.id
        );
        let mails: Vec<OutboundMail> = to
            .iter()
            .map(|a| {
                let (subject, body) = xdesk_mail::templates::supervisor_alert_mail(
                    a.language.as_deref().unwrap_or("en"),
                    &self.mail.from_name,
                    kind,
                    &number,
                    &ticket.subject,
                    &link,
                );
                self.no_ticket_mail("alert", &a.email, subject, body)
            })
            .collect();
        self.store.queue_mails(&mails).await?;
        if !mails.is_empty() {
            self.outbox_changed();
        }
        Ok(())
    }
}
