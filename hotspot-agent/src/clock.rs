//! Wall-clock time in ns since the Unix epoch, optionally running faster than real time so a
//! simulated network can live through hours in minutes. Every timestamp the agent signs comes
//! from here.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin_ns: u64,
    origin: Instant,
    speed: u32,
}

impl Clock {
    /// Real time.
    pub fn system() -> Self {
        Self::accelerated(1)
    }

    /// Time that starts now and runs `speed` times faster than real time.
    pub fn accelerated(speed: u32) -> Self {
        let origin_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            origin_ns,
            origin: Instant::now(),
            speed: speed.max(1),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.origin_ns + self.origin.elapsed().as_nanos() as u64 * u64::from(self.speed)
    }

    /// How long to really wait for `d` of clock time to pass.
    pub fn real(&self, d: Duration) -> Duration {
        d / self.speed
    }

    pub fn speed(&self) -> u32 {
        self.speed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerated_clock_runs_faster() {
        let c = Clock::accelerated(60);
        let a = c.now_ns();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = c.now_ns() - a;
        assert!(elapsed >= 60 * 20_000_000, "{elapsed}");
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_secs(1));
    }
}
