//! Wall-clock time in ns since the Unix epoch, optionally running faster than real time so a
//! simulated network can live through hours in minutes. Every timestamp a hotspot signs and every
//! time an oracle checks comes from a `Clock`.
//!
//! An accelerated clock is anchored at an origin instant of real time: `now = origin + speed ×
//! (real now − origin)`. Processes given the same origin and speed agree on the time, so a swarm
//! and an oracle in different processes can share one accelerated timeline.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    origin_ns: u64,
    speed: u32,
}

fn real_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Clock {
    /// Real time.
    pub fn system() -> Self {
        Clock {
            origin_ns: 0,
            speed: 1,
        }
    }

    /// Time that runs `speed` times faster than real time from now on.
    pub fn accelerated(speed: u32) -> Self {
        Self::accelerated_from(real_now_ns(), speed)
    }

    /// Time that runs `speed` times faster than real time from `origin_ns` (real time).
    pub fn accelerated_from(origin_ns: u64, speed: u32) -> Self {
        Clock {
            origin_ns,
            speed: speed.max(1),
        }
    }

    pub fn now_ns(&self) -> u64 {
        let real = real_now_ns();
        self.origin_ns + real.saturating_sub(self.origin_ns) * u64::from(self.speed)
    }

    /// How long to really wait for `d` of clock time to pass.
    pub fn real(&self, d: Duration) -> Duration {
        d / self.speed
    }

    pub fn speed(&self) -> u32 {
        self.speed
    }

    pub fn origin_ns(&self) -> u64 {
        self.origin_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerated_clocks_agree_and_run_faster() {
        let origin = real_now_ns();
        let a = Clock::accelerated_from(origin, 60);
        let b = Clock::accelerated_from(origin, 60);
        let t0 = a.now_ns();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = a.now_ns() - t0;
        assert!(elapsed >= 60 * 20_000_000, "{elapsed}");
        // Two clocks with one origin read (nearly) the same.
        assert!(a.now_ns().abs_diff(b.now_ns()) < 60 * 5_000_000);
        assert_eq!(a.real(Duration::from_secs(60)), Duration::from_secs(1));
        let sys = Clock::system();
        assert!(sys.now_ns().abs_diff(real_now_ns()) < 1_000_000_000);
    }
}
