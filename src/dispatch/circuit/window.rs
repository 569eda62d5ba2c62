//! Telling a dead token from wrong settings. APNs answers
//! `BadDeviceToken` or `DeviceTokenNotForTopic` both for a token that is
//! dead and for every token when herald sends with the wrong topic or to
//! the wrong environment (sandbox or production); deactivating on the
//! second would wipe out every device. So each provider keeps a window of
//! its latest answers about tokens, one per outbox row (a row tried again
//! replaces its earlier answer, so one dead token retried cannot outvote
//! the rest), and a refused token is judged against it:
//!
//! - at least half of at least [`MIN_ANSWERS`] rows refused: the
//!   settings are wrong (open the circuit, deactivate nothing);
//! - fewer than half refused: this token is dead (as before);
//! - otherwise too few answers to tell: try the row again later, device
//!   kept.

use std::collections::VecDeque;

/// Answers needed before refusals can mean wrong settings.
pub const MIN_ANSWERS: usize = 10;

/// Rows the window remembers.
const CAPACITY: usize = 100;

/// What the window says about a refused token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Most tokens are refused: the settings are wrong.
    Settings,
    /// Most tokens are accepted: this one is dead.
    DeadToken,
    /// Too few answers to tell.
    Undecided,
}

/// The latest answers about tokens, one per outbox row.
#[derive(Debug, Default)]
pub struct Window {
    /// `(outbox_id, refused)`, oldest first.
    answers: VecDeque<(i64, bool)>,
}

impl Window {
    /// Notes row `outbox_id`'s answer: refused (`BadDeviceToken`, ...) or
    /// not (delivered, unregistered).
    pub fn note(&mut self, outbox_id: i64, refused: bool) {
        self.answers.retain(|(id, _)| *id != outbox_id);
        self.answers.push_back((outbox_id, refused));
        if self.answers.len() > CAPACITY {
            self.answers.pop_front();
        }
    }

    /// The judgement on a refusal, with the refusal already noted.
    pub fn judge(&self) -> Judgement {
        let total = self.answers.len();
        let refused = self.answers.iter().filter(|(_, r)| *r).count();
        if refused * 2 < total {
            Judgement::DeadToken
        } else if total >= MIN_ANSWERS {
            Judgement::Settings
        } else {
            Judgement::Undecided
        }
    }

    /// Forgets every answer (the settings changed).
    pub fn clear(&mut self) {
        self.answers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(answers: &[(i64, bool)]) -> Window {
        let mut window = Window::default();
        for (id, refused) in answers {
            window.note(*id, *refused);
        }
        window
    }

    #[test]
    fn one_refusal_among_successes_is_a_dead_token() {
        let w = window(&[(1, false), (2, false), (3, true)]);
        assert_eq!(w.judge(), Judgement::DeadToken);
    }

    #[test]
    fn refusals_for_most_of_ten_rows_are_wrong_settings() {
        let answers: Vec<_> = (0..10).map(|i| (i, i % 3 != 0)).collect();
        assert_eq!(window(&answers).judge(), Judgement::Settings);
    }

    #[test]
    fn a_few_refusals_alone_are_undecided() {
        let answers: Vec<_> = (0..9).map(|i| (i, true)).collect();
        assert_eq!(window(&answers).judge(), Judgement::Undecided);
    }

    #[test]
    fn a_row_refused_again_counts_once() {
        let mut w = window(&[(1, false), (2, false)]);
        for _ in 0..20 {
            w.note(3, true);
        }
        assert_eq!(w.judge(), Judgement::DeadToken);
    }

    #[test]
    fn old_answers_leave_the_window() {
        let mut w = window(&(0..100).map(|i| (i, false)).collect::<Vec<_>>());
        for i in 100..160 {
            w.note(i, true);
        }
        assert_eq!(w.judge(), Judgement::Settings);
    }
}
