//! GCRA (the generic cell rate algorithm): a smooth rate limit with a burst of the full minute's allowance. One
//! number per key — the theoretical arrival time (TAT) — so a store only needs an atomic read-modify-write. Unlike
//! a fixed window it never lets 2× the limit through around a boundary: a used-up allowance comes back one
//! emission interval (period / limit) at a time.
//!
//! Times are microseconds since the epoch; the Redis store runs the same arithmetic in Lua, and both build
//! their answer with [`decide`].

/// `limit` cost units per `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period_us: i64,
}

impl Rate {
    pub fn per_minute(limit: u32) -> Self {
        Self { limit, period_us: 60_000_000 }
    }

    /// The time one unit takes to come back.
    pub fn interval_us(&self) -> i64 {
        (self.period_us / i64::from(self.limit.max(1))).max(1)
    }

    /// How far ahead of now the TAT may run: the whole allowance.
    pub fn tolerance_us(&self) -> i64 {
        self.interval_us() * i64::from(self.limit)
    }
}

/// The outcome of one check, with everything the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Units left right now.
    pub remaining: u32,
    /// Until the allowance is whole again.
    pub reset_us: i64,
    /// Denied only: until this same request would be allowed.
    pub retry_after_us: i64,
}

/// Applies `cost` to a key whose stored TAT is `tat` (None: never seen). Returns the decision and the TAT to
/// store (unchanged when denied or when `cost` is 0, which only reads the state).
pub fn apply(tat: Option<i64>, now_us: i64, cost: u32, rate: Rate) -> (Decision, i64) {
    // A TAT in the past means a full allowance; a clock that jumped backwards leaves the TAT where it was (so
    // the limit is, if anything, stricter for a while — never lifted).
    let base = tat.unwrap_or(now_us).max(now_us);
    let new_tat = base + i64::from(cost) * rate.interval_us();
    let allowed = new_tat - now_us <= rate.tolerance_us();
    let stored = if allowed { new_tat } else { base };
    (decide(allowed, stored, now_us, cost, rate), stored)
}

/// The decision for a key whose TAT is now `tat` (after the request was counted, if it was allowed).
pub fn decide(allowed: bool, tat: i64, now_us: i64, cost: u32, rate: Rate) -> Decision {
    let interval = rate.interval_us();
    let ahead = (tat - now_us).max(0);
    let left = (rate.tolerance_us() - ahead).max(0) / interval;
    let retry_after_us = if allowed { 0 } else { (ahead + i64::from(cost) * interval - rate.tolerance_us()).max(1) };
    Decision {
        allowed,
        limit: rate.limit,
        remaining: u32::try_from(left).unwrap_or(u32::MAX).min(rate.limit),
        reset_us: ahead,
        retry_after_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    fn run(tat: &mut Option<i64>, now: i64, cost: u32, rate: Rate) -> Decision {
        let (decision, stored) = apply(*tat, now, cost, rate);
        *tat = Some(stored);
        decision
    }

    #[test]
    fn exactly_the_limit_passes_then_the_next_waits_one_interval() {
        let rate = Rate::per_minute(60);
        let mut tat = None;
        for n in 0..60 {
            let d = run(&mut tat, 0, 1, rate);
            assert!(d.allowed, "request {n}");
            assert_eq!(d.remaining, 59 - n);
        }
        let denied = run(&mut tat, 0, 1, rate);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after_us, 1_000_000, "one unit comes back after a second");
        assert_eq!(denied.reset_us, MINUTE);
        assert!(!run(&mut tat, 999_999, 1, rate).allowed, "not a microsecond earlier");
        assert!(run(&mut tat, 1_000_000, 1, rate).allowed, "and exactly then");
    }

    #[test]
    fn no_double_burst_at_a_window_boundary() {
        // A fixed window would allow 60 at 0:59.9 and 60 more at 1:00.0. GCRA allows the 60, then one per second.
        let rate = Rate::per_minute(60);
        let mut tat = None;
        let passed = (0..120).filter(|_| run(&mut tat, MINUTE - 100_000, 1, rate).allowed).count();
        assert_eq!(passed, 60);
        let passed = (0..120).filter(|_| run(&mut tat, MINUTE + 100_000, 1, rate).allowed).count();
        assert_eq!(passed, 0, "only 0.2 s passed: no unit has come back");
    }

    #[test]
    fn costs_weigh_and_an_oversized_cost_never_passes() {
        let rate = Rate::per_minute(600);
        let mut tat = None;
        assert!(run(&mut tat, 0, 500, rate).allowed);
        let d = run(&mut tat, 0, 200, rate);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 100);
        assert_eq!(d.retry_after_us, 100 * 100_000, "100 more units must come back");
        assert!(!apply(None, 0, 601, rate).0.allowed, "more than the whole allowance never fits");
    }

    #[test]
    fn reading_changes_nothing_and_a_backwards_clock_lifts_nothing() {
        let rate = Rate::per_minute(2);
        let mut tat = None;
        run(&mut tat, 10 * MINUTE, 1, rate);
        run(&mut tat, 10 * MINUTE, 1, rate);
        let before = tat;
        assert_eq!(run(&mut tat, 10 * MINUTE, 0, rate).remaining, 0);
        assert_eq!(tat, before, "cost 0 only reads");
        // The clock jumps an hour back: still nothing left, and the wait is longer, not shorter.
        let d = run(&mut tat, 9 * MINUTE, 1, rate);
        assert!(!d.allowed);
        assert!(d.retry_after_us > MINUTE);
    }
}
