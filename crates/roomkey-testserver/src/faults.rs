//! Fault injection: [`Fault`] and the queue that hands faults to requests.

use std::collections::VecDeque;
use std::time::Duration;

/// Something to do to a request instead of (or before) serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long, then serve the request normally (a slow server or network).
    Delay(Duration),
    /// Answer with this HTTP status and a short `text/plain` body, as a proxy or load balancer
    /// in front of LiveKit would (502, 503, 504, 500…). Not a Twirp error body.
    Status(u16),
    /// Answer with a Twirp JSON error, as the LiveKit server itself would; the HTTP status
    /// follows the code (`unavailable` → 503, `internal` → 500, …).
    Twirp {
        /// The Twirp code.
        code: String,
        /// The message.
        msg: String,
    },
    /// Read the request, then close the TCP connection without writing any response.
    Drop,
}

impl Fault {
    /// A [`Fault::Twirp`].
    pub fn twirp(code: &str, msg: &str) -> Self {
        Fault::Twirp {
            code: code.to_owned(),
            msg: msg.to_owned(),
        }
    }

    fn is_delay(&self) -> bool {
        matches!(self, Fault::Delay(_))
    }
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    remaining: usize,
    method: Option<String>,
}

/// The faults waiting for requests. A request takes at most one delay and at most one other
/// fault: the first queued rule of each kind whose method filter matches.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    latency: Option<Duration>,
    rules: VecDeque<Rule>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault, times: usize, method: Option<String>) {
        if times > 0 {
            self.rules.push_back(Rule {
                fault,
                remaining: times,
                method,
            });
        }
    }

    pub(crate) fn set_latency(&mut self, latency: Option<Duration>) {
        self.latency = latency.filter(|d| !d.is_zero());
    }

    pub(crate) fn clear(&mut self) {
        self.latency = None;
        self.rules.clear();
    }

    /// How many fault applications are still queued.
    pub(crate) fn pending(&self) -> usize {
        self.rules.iter().map(|r| r.remaining).sum()
    }

    fn take_one(&mut self, rpc: Option<&str>, delay: bool) -> Option<Fault> {
        let index = self.rules.iter().position(|r| {
            r.fault.is_delay() == delay && r.method.as_deref().is_none_or(|m| Some(m) == rpc)
        })?;
        let rule = &mut self.rules[index];
        let fault = rule.fault.clone();
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }

    /// The delay (standing latency plus a queued delay) and the fault for one request.
    pub(crate) fn take(&mut self, rpc: Option<&str>) -> (Duration, Option<Fault>) {
        let mut delay = self.latency.unwrap_or_default();
        if let Some(Fault::Delay(d)) = self.take_one(rpc, true) {
            delay += d;
        }
        (delay, self.take_one(rpc, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_taken_in_order_and_by_method() {
        let mut q = FaultQueue::default();
        q.push(Fault::Status(503), 2, Some("ListRooms".into()));
        q.push(Fault::Drop, 1, None);
        q.push(Fault::Delay(Duration::from_millis(5)), 1, None);
        assert_eq!(q.pending(), 4);
        assert_eq!(
            q.take(Some("CreateRoom")),
            (Duration::from_millis(5), Some(Fault::Drop))
        );
        assert_eq!(q.take(Some("CreateRoom")), (Duration::ZERO, None));
        assert_eq!(q.take(Some("ListRooms")).1, Some(Fault::Status(503)));
        assert_eq!(q.take(Some("ListRooms")).1, Some(Fault::Status(503)));
        assert_eq!(q.take(Some("ListRooms")).1, None);
        q.set_latency(Some(Duration::from_millis(7)));
        assert_eq!(q.take(None).0, Duration::from_millis(7));
        assert_eq!(q.pending(), 0);
    }
}
