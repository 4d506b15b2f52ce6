//! Satisfaction surveys: when a ticket is solved the customer gets one link (as a message on
//! the ticket, so e-mail customers get it by mail, chat customers in the widget and everyone in
//! the portal) to rate the help from 1 to 5 with a comment, once; a chat's visitor may answer
//! it right in the widget. Results per agent, group and intent.

use crate::{Principal, ServiceError, Services};
use std::collections::BTreeMap;
use xdesk_domain::FieldError;
use xdesk_domain::ticket::{TicketNumber, TicketState};
use xdesk_store::TicketRow;

/// What the survey page shows.
#[derive(Debug, Clone)]
pub struct SurveyView {
    pub number: String,
    pub subject: String,
    pub language: String,
    pub score: Option<i32>,
}

/// One line of the report: answers, average score, share satisfied (4 or 5).
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionLine {
    pub key: String,
    pub answers: usize,
    pub average: f64,
    pub satisfied: f64,
}

/// The report, by agent (their id), group (its id) and intent.
#[derive(Debug, Clone, Default)]
pub struct SatisfactionReport {
    pub by_agent: Vec<SatisfactionLine>,
    pub by_group: Vec<SatisfactionLine>,
    pub by_intent: Vec<SatisfactionLine>,
}

fn lines(scores: BTreeMap<String, Vec<i32>>) -> Vec<SatisfactionLine> {
    scores
        .into_iter()
        .map(|(key, s)| SatisfactionLine {
            answers: s.len(),
            average: s.iter().map(|x| f64::from(*x)).sum::<f64>() / s.len() as f64,
            satisfied: s.iter().filter(|x| **x >= 4).count() as f64 / s.len() as f64,
            key,
        })
        .collect()
}

impl Services {
    /// Offers the survey of a ticket just solved (once per ticket). Returns the ticket as it
    /// now is.
    pub(crate) async fn offer_survey(&self, t: TicketRow) -> Result<TicketRow, ServiceError> {
        if t.state != TicketState::Solved.as_str() {
            return Ok(t);
        }
        let token = crate::portal::random_token();
        let offered = self
            .store
            .create_survey(
                t.id,
                &crate::auth::sha256_hex(&token),
                t.assignee_id,
                t.group_id,
                t.intent.clone(),
            )
            .await?;
        if offered.is_none() {
            return Ok(t);
        }
        let link = format!(
            "{}/survey/{token}",
            self.portal.public_url.trim_end_matches('/')
        );
        let body = if t.language.starts_with("zh") {
            format!("您的问题已解决。请为本次服务打分（1–5 分）：{link}")
        } else {
            format!("Your request is solved. How did we do? Rate us from 1 to 5: {link}")
        };
        let notice = crate::tickets::system_notice(
            &t.channel,
            body,
            serde_json::json!({"notice": "survey"}),
        );
        self.post_notices(&Principal::System, t, vec![("notice".into(), notice)])
            .await
    }

    /// The survey behind a link, for anyone holding it.
    pub async fn survey(&self, token: &str) -> Result<SurveyView, ServiceError> {
        let s = self
            .store
            .survey_by_token(&crate::auth::sha256_hex(token))
            .await?
            .ok_or(ServiceError::NotFound("survey"))?;
        let t = self
            .store
            .ticket(s.ticket_id)
            .await?
            .ok_or(ServiceError::NotFound("survey"))?;
        Ok(SurveyView {
            number: TicketNumber::for_ticket(t.id).to_string(),
            subject: t.subject,
            language: t.language,
            score: s.score,
        })
    }

    /// Records the answer behind a link, once.
    pub async fn answer_survey(
        &self,
        token: &str,
        score: i32,
        comment: &str,
    ) -> Result<(), ServiceError> {
        let s = self
            .store
            .survey_by_token(&crate::auth::sha256_hex(token))
            .await?
            .ok_or(ServiceError::NotFound("survey"))?;
        self.record_answer(s.id, score, comment).await
    }

    /// Records the answer given at the end of a chat, in the widget, by the chat's visitor.
    pub async fn answer_chat_survey(
        &self,
        v: &crate::chat::ChatVisitor,
        ticket_id: i64,
        score: i32,
        comment: &str,
    ) -> Result<(), ServiceError> {
        self.chat_ticket(v, ticket_id).await?;
        let s = self
            .store
            .survey_for_ticket(ticket_id)
            .await?
            .ok_or(ServiceError::NotFound("survey"))?;
        self.record_answer(s.id, score, comment).await
    }

    async fn record_answer(&self, id: i64, score: i32, comment: &str) -> Result<(), ServiceError> {
        if !(1..=5).contains(&score) {
            return Err(FieldError::new("score", "invalid_score", "1 to 5").into());
        }
        let comment = comment.trim();
        if comment.chars().count() > 2000 {
            return Err(
                FieldError::new("comment", "invalid_comment", "at most 2000 characters").into(),
            );
        }
        // A comment is the customer's words: secrets in it are cut like in any message.
        let mut comment = comment.to_owned();
        crate::safety::screen(None, &mut comment, &mut None);
        let comment = (!comment.is_empty()).then_some(comment);
        if !self.store.answer_survey(id, score, comment).await? {
            return Err(ServiceError::Conflict(
                "this survey is answered already".into(),
            ));
        }
        Ok(())
    }

    /// Satisfaction per agent, group and intent (agents of any role).
    pub async fn satisfaction_report(
        &self,
        p: &Principal,
    ) -> Result<SatisfactionReport, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        let (mut agents, mut groups, mut intents) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for s in self.store.answered_surveys().await? {
            let Some(score) = s.score else { continue };
            let key = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            agents
                .entry(key(s.agent_id.map(|a| a.to_string())))
                .or_insert_with(Vec::new)
                .push(score);
            groups
                .entry(key(s.group_id.map(|g| g.to_string())))
                .or_insert_with(Vec::new)
                .push(score);
            intents
                .entry(key(s.intent))
                .or_insert_with(Vec::new)
                .push(score);
        }
        Ok(SatisfactionReport {
            by_agent: lines(agents),
            by_group: lines(groups),
            by_intent: lines(intents),
        })
    }
}
