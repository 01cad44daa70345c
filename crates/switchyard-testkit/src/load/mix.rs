//! The mix of look-ups and switchings, and the gate that holds two independent worker pools to
//! it.
//!
//! The real traffic is about 400,000 look-ups and 15,000 switchings a day: 26.7 look-ups per
//! switching, and a switching is four writes. Look-up workers and switching workers run closed
//! loops of their own; before each operation a worker asks the gate, which lets it go only while
//! the counts stay within a window of the ratio. Whichever side is slower sets the pace, so the
//! measured throughput is the throughput *under that mix*, not two unrelated maxima.

use std::str::FromStr;
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::time::Instant;

/// What a worker asks the gate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    LookUp,
    /// A whole switching: its four writes follow one admission.
    Switching,
}

/// How look-ups and switchings are mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// `look_ups` look-ups for every `switchings` switchings (`400000:15000`); one side may be
    /// zero (`1:0` look-ups only, `0:1` switchings only).
    Ratio { look_ups: u64, switchings: u64 },
    /// Both pools flat out, each at its own pace (`free`).
    Free,
}

impl Mix {
    /// The real mix: 400,000 look-ups and 15,000 switchings a day.
    pub const REAL: Mix = Mix::Ratio {
        look_ups: 400_000,
        switchings: 15_000,
    };

    /// Whether look-ups run at all.
    pub fn has_look_ups(&self) -> bool {
        !matches!(self, Mix::Ratio { look_ups: 0, .. })
    }

    /// Whether switchings run at all.
    pub fn has_switchings(&self) -> bool {
        !matches!(self, Mix::Ratio { switchings: 0, .. })
    }

    /// Look-ups per switching, when both run under a ratio.
    pub fn look_ups_per_switching(&self) -> Option<f64> {
        match *self {
            Mix::Ratio {
                look_ups,
                switchings,
            } if look_ups > 0 && switchings > 0 => Some(look_ups as f64 / switchings as f64),
            _ => None,
        }
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mix::Ratio {
                look_ups,
                switchings,
            } => write!(formatter, "{look_ups}:{switchings}"),
            Mix::Free => formatter.write_str("free"),
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Mix, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("free") {
            return Ok(Mix::Free);
        }
        let (look_ups, switchings) = text.split_once(':').ok_or_else(|| {
            format!("{text:?}: expected LOOKUPS:SWITCHINGS (e.g. 400000:15000) or `free`")
        })?;
        let parse = |part: &str, what: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|error| format!("{text:?}: the {what} weight {part:?}: {error}"))
        };
        let look_ups = parse(look_ups, "look-up")?;
        let switchings = parse(switchings, "switching")?;
        if look_ups == 0 && switchings == 0 {
            return Err(format!("{text:?}: both weights are zero"));
        }
        Ok(Mix::Ratio {
            look_ups,
            switchings,
        })
    }
}

/// The counts of admitted operations and the rule that keeps them to the ratio: after admitting
/// an operation, look-ups may be ahead of the ratio by at most `window` switchings' worth of
/// look-ups, and switchings ahead by at most `window` switchings. Integer arithmetic, so no
/// drift over long runs.
#[derive(Debug, Clone)]
pub struct MixBalance {
    look_up_weight: u128,
    switching_weight: u128,
    window: u128,
    look_ups: u128,
    switchings: u128,
}

impl MixBalance {
    /// A balance for `look_up_weight : switching_weight` with a window of `window` switchings
    /// (at least 1).
    pub fn new(look_up_weight: u64, switching_weight: u64, window: u64) -> MixBalance {
        MixBalance {
            look_up_weight: u128::from(look_up_weight),
            switching_weight: u128::from(switching_weight),
            window: u128::from(window.max(1)),
            look_ups: 0,
            switchings: 0,
        }
    }

    /// Whether `operation` may start now.
    pub fn allows(&self, operation: Operation) -> bool {
        match operation {
            // (look_ups + 1) / look_up_weight <= (switchings + window) / switching_weight
            Operation::LookUp => {
                (self.look_ups + 1) * self.switching_weight
                    <= (self.switchings + self.window) * self.look_up_weight
            }
            // switchings + 1 - window <= look_ups * switching_weight / look_up_weight
            Operation::Switching => {
                let ahead = (self.switchings + 1).saturating_sub(self.window);
                ahead * self.look_up_weight <= self.look_ups * self.switching_weight
            }
        }
    }

    /// Counts `operation` if it may start; says whether it was admitted.
    pub fn try_admit(&mut self, operation: Operation) -> bool {
        if !self.allows(operation) {
            return false;
        }
        match operation {
            Operation::LookUp => self.look_ups += 1,
            Operation::Switching => self.switchings += 1,
        }
        true
    }

    /// Look-ups and switchings admitted so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.look_ups as u64, self.switchings as u64)
    }
}

/// The gate shared by every worker of a run: holds the pools to the mix (or lets both run free).
#[derive(Debug)]
pub struct MixGate {
    balance: Option<Mutex<MixBalance>>,
    /// Woken when a switching is admitted (waiting look-ups may go).
    look_ups_waiting: Notify,
    /// Woken when a look-up is admitted (waiting switchings may go).
    switchings_waiting: Notify,
}

impl MixGate {
    /// A gate for `mix`; `window` switchings of slack (the switching workers' count is a good
    /// choice: each may have one switching admitted ahead).
    pub fn new(mix: Mix, window: u64) -> MixGate {
        let balance = match mix {
            Mix::Ratio {
                look_ups,
                switchings,
            } if look_ups > 0 && switchings > 0 => {
                Some(Mutex::new(MixBalance::new(look_ups, switchings, window)))
            }
            // One side alone, or free: nothing to hold to.
            _ => None,
        };
        MixGate {
            balance,
            look_ups_waiting: Notify::new(),
            switchings_waiting: Notify::new(),
        }
    }

    /// Waits until `operation` may start and counts it; false if `until` came first.
    pub async fn admit(&self, operation: Operation, until: Instant) -> bool {
        if Instant::now() >= until {
            return false;
        }
        let Some(balance) = &self.balance else {
            return true;
        };
        let (mine, theirs) = match operation {
            Operation::LookUp => (&self.look_ups_waiting, &self.switchings_waiting),
            Operation::Switching => (&self.switchings_waiting, &self.look_ups_waiting),
        };
        loop {
            // Registered before looking, so that an admission in between is not missed.
            let notified = mine.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let admitted = balance
                .lock()
                .expect("the mix balance lock")
                .try_admit(operation);
            if admitted {
                theirs.notify_waiters();
                return true;
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(until) => return false,
            }
        }
    }

    /// Look-ups and switchings admitted so far (zeros for a free mix).
    pub fn counts(&self) -> (u64, u64) {
        self.balance.as_ref().map_or((0, 0), |balance| {
            balance.lock().expect("the mix balance lock").counts()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Mixes parse from `L:S` and `free`, print back the same way, and nonsense is refused with
    /// the reason.
    #[test]
    fn mixes_parse_and_print() {
        assert_eq!("400000:15000".parse::<Mix>().unwrap(), Mix::REAL);
        assert_eq!(" free ".parse::<Mix>().unwrap(), Mix::Free);
        let only = "1:0".parse::<Mix>().unwrap();
        assert!(only.has_look_ups() && !only.has_switchings());
        assert_eq!(only.look_ups_per_switching(), None);
        assert_eq!(Mix::REAL.to_string(), "400000:15000");
        let per = Mix::REAL.look_ups_per_switching().unwrap();
        assert!((per - 26.666).abs() < 0.01);
        for bad in ["27", "0:0", "a:1", "1:-1", ""] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?} parsed");
        }
    }

    /// Look-ups alone may run `window` switchings' worth ahead, then stop; a switching lets the
    /// next share through. Switchings alone may run `window` ahead, then need look-ups.
    #[test]
    fn the_window_bounds_how_far_each_side_runs_ahead() {
        let mut balance = MixBalance::new(27, 1, 2);
        let mut look_ups = 0;
        while balance.try_admit(Operation::LookUp) {
            look_ups += 1;
        }
        assert_eq!(look_ups, 54);
        assert!(balance.try_admit(Operation::Switching));
        let mut more = 0;
        while balance.try_admit(Operation::LookUp) {
            more += 1;
        }
        assert_eq!(more, 27);

        let mut balance = MixBalance::new(27, 1, 2);
        assert!(balance.try_admit(Operation::Switching));
        assert!(balance.try_admit(Operation::Switching));
        assert!(!balance.try_admit(Operation::Switching));
        for _ in 0..26 {
            assert!(balance.try_admit(Operation::LookUp));
            assert!(!balance.allows(Operation::Switching));
        }
        assert!(balance.try_admit(Operation::LookUp));
        assert!(balance.try_admit(Operation::Switching));
    }

    /// Whatever order the two sides ask in (here a pseudo-random one, with look-ups asked far
    /// more often), the admitted counts never leave the window around the ratio, and over a
    /// long run the ratio is exact to within the window, for a fractional ratio too.
    #[test]
    fn any_interleaving_stays_within_the_window_of_the_ratio() {
        let (look_up_weight, switching_weight, window) = (400_000u64, 15_000u64, 16u64);
        let mut balance = MixBalance::new(look_up_weight, switching_weight, window);
        let mut random = switchyard_domain::generator::SplitMix64::new(7);
        let ratio = look_up_weight as f64 / switching_weight as f64;
        for _ in 0..200_000 {
            let operation = if random.chance(900) {
                Operation::LookUp
            } else {
                Operation::Switching
            };
            balance.try_admit(operation);
            let (look_ups, switchings) = balance.counts();
            let expected = switchings as f64 * ratio;
            assert!(
                look_ups as f64 <= expected + window as f64 * ratio + 1e-9,
                "look-ups ran ahead: {look_ups} for {switchings}"
            );
            assert!(
                switchings as f64 <= look_ups as f64 / ratio + window as f64 + 1e-9,
                "switchings ran ahead: {switchings} for {look_ups}"
            );
        }
        let (look_ups, switchings) = balance.counts();
        assert!(switchings > 5_000);
        let measured = look_ups as f64 / switchings as f64;
        assert!(
            (measured - ratio).abs() / ratio < 0.01,
            "ratio {measured}, wanted {ratio}"
        );
    }

    /// Two pools of tasks through the async gate: fast look-ups and slow switchings (ten times
    /// the latency). The fast side waits for the slow one, so the counts end at the ratio, and
    /// every worker stops at the deadline. Runs on tokio's paused clock.
    #[tokio::test(start_paused = true)]
    async fn the_gate_paces_the_fast_side_to_the_slow_one() {
        let gate = Arc::new(MixGate::new(
            Mix::Ratio {
                look_ups: 10,
                switchings: 1,
            },
            4,
        ));
        let until = Instant::now() + Duration::from_secs(2);
        let mut tasks = Vec::new();
        for (operation, workers, latency) in [
            (Operation::LookUp, 8, Duration::from_millis(1)),
            (Operation::Switching, 4, Duration::from_millis(10)),
        ] {
            for _ in 0..workers {
                let gate = Arc::clone(&gate);
                tasks.push(tokio::spawn(async move {
                    let mut done = 0u64;
                    while gate.admit(operation, until).await {
                        tokio::time::sleep(latency).await;
                        done += 1;
                    }
                    (operation, done)
                }));
            }
        }
        let (mut look_ups, mut switchings) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                (Operation::LookUp, done) => look_ups += done,
                (Operation::Switching, done) => switchings += done,
            }
        }
        // Four switching workers at 10 ms each: about 800 switchings in 2 s.
        assert!(switchings > 600, "{switchings} switchings");
        let ratio = look_ups as f64 / switchings as f64;
        assert!((ratio - 10.0).abs() < 0.5, "ratio {ratio}");
        assert_eq!(gate.counts().1, switchings);
        // Past the deadline nothing is admitted, even what the ratio would allow.
        assert!(gate.counts().0 <= gate.counts().1 * 10 + 40);
        assert!(!gate.admit(Operation::LookUp, until).await);
    }

    /// One side alone, or a free mix: the gate admits everything until the deadline.
    #[tokio::test(start_paused = true)]
    async fn without_a_ratio_the_gate_only_watches_the_clock() {
        let until = Instant::now() + Duration::from_millis(5);
        for mix in [Mix::Free, "1:0".parse().unwrap(), "0:1".parse().unwrap()] {
            let gate = MixGate::new(mix, 1);
            for _ in 0..1_000 {
                assert!(gate.admit(Operation::Switching, until).await);
                assert!(gate.admit(Operation::LookUp, until).await);
            }
            assert_eq!(gate.counts(), (0, 0));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            !MixGate::new(Mix::Free, 1)
                .admit(Operation::LookUp, until)
                .await
        );
    }
}
