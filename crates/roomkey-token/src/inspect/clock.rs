//! Judging a token's times by a server's clock: the offset measured from its `Date` headers,
//! and the time findings as the server will see them.

use super::{Code, Finding, InspectOptions, Inspection, Severity, findings, span};

/// The time codes, which [`Inspection::judge_by_server_clock`] judges again.
const TIME_CODES: &[Code] = &[
    Code::Expired,
    Code::ExpiredWithinLeeway,
    Code::NotYetValid,
    Code::NotYetValidWithinLeeway,
    Code::IssuedInFuture,
];

/// Below this, an offset is the clocks agreeing (the `Date` header has whole seconds).
const AGREE_MS: i64 = 2_000;

/// From this on, an offset is worth fixing even when it changes no verdict yet.
const WARN_MS: i64 = 5_000;

/// One request to the server: this machine's clock when it was sent and when the answer came
/// (unix milliseconds), and the server's `Date` (unix seconds, which the header truncates to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// This machine's clock when the request was sent.
    pub sent_ms: i64,
    /// This machine's clock when the answer arrived.
    pub received_ms: i64,
    /// The answer's `Date` header.
    pub server_secs: i64,
}

/// How far the server's clock is ahead of this machine's (negative: behind), as bounds in
/// milliseconds: the server read its clock between sending and receiving, and its `Date` is
/// that reading truncated to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// The least the offset can be.
    pub low_ms: i64,
    /// The most the offset can be.
    pub high_ms: i64,
}

impl ClockOffset {
    /// The tightest bounds that every sample allows. When the samples contradict each other
    /// (the server's clock stepped between them), the sample with the shortest round trip.
    /// `None` without samples.
    pub fn from_samples(samples: &[ClockSample]) -> Option<ClockOffset> {
        let bounds = |s: &ClockSample| ClockOffset {
            low_ms: s.server_secs * 1000 - s.received_ms,
            high_ms: (s.server_secs + 1) * 1000 - s.sent_ms,
        };
        let first = bounds(samples.first()?);
        let tightest = samples.iter().skip(1).try_fold(first, |acc, s| {
            let b = bounds(s);
            let joint = ClockOffset {
                low_ms: acc.low_ms.max(b.low_ms),
                high_ms: acc.high_ms.min(b.high_ms),
            };
            (joint.low_ms <= joint.high_ms).then_some(joint)
        });
        tightest.or_else(|| {
            samples
                .iter()
                .min_by_key(|s| s.received_ms - s.sent_ms)
                .map(bounds)
        })
    }

    /// The middle of the bounds.
    pub fn estimate_ms(&self) -> i64 {
        self.low_ms + (self.high_ms - self.low_ms) / 2
    }

    /// Half the width of the bounds.
    pub fn uncertainty_ms(&self) -> i64 {
        (self.high_ms - self.low_ms) / 2
    }

    /// "3.2 s ahead of this machine's (± 0.5 s)".
    pub fn describe(&self) -> String {
        let ms = self.estimate_ms();
        let side = if ms >= 0 { "ahead of" } else { "behind" };
        format!(
            "{} {side} this machine's (± {})",
            seconds(ms.unsigned_abs()),
            seconds(self.uncertainty_ms().unsigned_abs())
        )
    }
}

fn seconds(ms: u64) -> String {
    if ms >= 60_000 {
        span(ms / 1000)
    } else {
        format!("{}.{} s", ms / 1000, ms % 1000 / 100)
    }
}

impl Inspection {
    /// Judges the token's times again by the server's clock (this machine's clock, at
    /// [`InspectOptions::now`], plus `offset`): the time findings become the server's view, and a
    /// `clock_skew` finding says how far apart the clocks are and whether that changes the
    /// verdict.
    pub fn judge_by_server_clock(&mut self, offset: ClockOffset) {
        let Some(claims) = &self.claims else {
            return;
        };
        let local: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| TIME_CODES.contains(&f.code))
            .cloned()
            .collect();
        // Bounds that include zero are clocks that agree as far as whole-second `Date` headers
        // can tell; shifting by the estimate would invent a second of skew.
        let shift_ms = if offset.low_ms <= 0 && 0 <= offset.high_ms {
            0
        } else {
            offset.estimate_ms()
        };
        let server_now = self.options.now + (shift_ms + 500).div_euclid(1000);
        let mut server = Vec::new();
        let by_server = InspectOptions {
            now: server_now,
            ..self.options
        };
        findings::check_times(claims, &by_server, &mut server);
        server.retain(|f| TIME_CODES.contains(&f.code));
        for f in &mut server {
            f.message = format!("by the server's clock, {}", f.message);
        }
        let refused = |list: &[Finding]| list.iter().any(|f| f.severity == Severity::Error);
        let (refused_here, refused_there) = (refused(&local), refused(&server));
        let ms = offset.estimate_ms().abs();
        let skew = if refused_here != refused_there {
            let verdict = if refused_there {
                "the server refuses this token although this machine's clock finds it in time"
            } else {
                "the server still accepts this token although this machine's clock finds it \
                 out of time"
            };
            Some(Finding::new(
                Code::ClockSkew,
                Severity::Error,
                format!("the server's clock is {}: {verdict}", offset.describe()),
                "synchronise the clocks with NTP (timedatectl, chrony) on the machine that mints \
                 tokens and on the server; until then, mint with the server's time in mind",
            ))
        } else if ms >= WARN_MS.max(offset.uncertainty_ms()) {
            Some(Finding::new(
                Code::ClockSkew,
                Severity::Warning,
                format!(
                    "the server's clock is {}; with the {} leeway, tokens minted here are \
                     refused sooner or later than expected",
                    offset.describe(),
                    span(self.options.leeway.as_secs())
                ),
                "synchronise the clocks with NTP (timedatectl, chrony)",
            ))
        } else if ms >= AGREE_MS {
            Some(Finding::new(
                Code::ClockSkew,
                Severity::Info,
                format!("the server's clock is {}", offset.describe()),
                "nothing to do: well within the leeway",
            ))
        } else {
            None
        };
        self.findings.retain(|f| !TIME_CODES.contains(&f.code));
        self.add(server.into_iter().chain(skew));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: i64, received_ms: i64, server_secs: i64) -> ClockSample {
        ClockSample {
            sent_ms,
            received_ms,
            server_secs,
        }
    }

    #[test]
    fn bounds_tighten_over_samples() {
        // The server is 10.5 s ahead; each answer takes 20 ms.
        let samples: Vec<ClockSample> = (0..5)
            .map(|i| {
                let sent = 1_000_000 + i * 370;
                let server_ms = sent + 10 + 10_500;
                sample(sent, sent + 20, server_ms.div_euclid(1000))
            })
            .collect();
        let offset = ClockOffset::from_samples(&samples).unwrap();
        assert!(
            offset.low_ms <= 10_500 && 10_500 <= offset.high_ms,
            "{offset:?}"
        );
        assert!(offset.uncertainty_ms() < 500, "{offset:?}");
        assert!(offset.describe().starts_with("10.")); // 10.x s ahead
        assert!(offset.describe().contains("ahead of"));
    }

    #[test]
    fn contradicting_samples_fall_back_to_the_quickest() {
        let samples = [sample(0, 100, 50), sample(10_000, 10_010, 0)];
        let offset = ClockOffset::from_samples(&samples).unwrap();
        assert_eq!(
            offset,
            ClockOffset {
                low_ms: -10_010,
                high_ms: -9_000
            }
        );
        assert!(offset.describe().contains("behind"));
        assert_eq!(ClockOffset::from_samples(&[]), None);
    }
}
