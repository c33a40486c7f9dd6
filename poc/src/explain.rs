//! Every verdict and finding in plain words, for the hotspot's owner: what happened, and what
//! they can do about it. One table the agent's `status`, the explorer and the owner's page
//! share, so the words are the same wherever an owner reads them.

use crate::detect::Code;
use crate::reason::Reason;

/// What an owner reads about one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// The stored code, e.g. `witness_too_far`.
    pub code: &'static str,
    /// What happened, in a sentence.
    pub what: &'static str,
    /// What the owner can do (or that nothing is wrong on their side).
    pub action: &'static str,
}

const CHECK_CLOCK: &str = "Check that the hotspot's clock is synchronised (NTP or GPS) and its \
                           internet connection is not delaying its reports.";
const CHECK_SITE: &str = "Check the asserted location, antenna gain and elevation match the \
                          real installation; re-assert the location if the hotspot moved.";
const NOTHING: &str = "Nothing to do: this happens to honest hotspots now and then.";
const UPDATE: &str = "Update the hotspot agent to the current release; if it persists, the \
                      hotspot's software or key file is damaged.";

/// A valid report.
pub const VALID: Explanation = Explanation {
    code: "valid",
    what: "The report passed every check and counts towards rewards.",
    action: "Nothing to do.",
};

/// A report the oracle has not judged yet (the explorer serves it as `pending`).
pub const PENDING: Explanation = Explanation {
    code: "pending",
    what: "The oracle has not judged this report yet: its beacon, or the beacon it heard, is \
           still being collected.",
    action: "Nothing to do: wait a few minutes.",
};

/// The words for a rejection reason.
pub fn reason(r: Reason) -> Explanation {
    let (what, action) = match r {
        Reason::Malformed => (
            "The report could not be read: it is not a message of the kind its topic carries.",
            UPDATE,
        ),
        Reason::BadSignature => (
            "The report's signature does not match the key it names, so nobody can tell it \
             came from this hotspot.",
            UPDATE,
        ),
        Reason::TopicMismatch => (
            "The report was published under another hotspot's name than the key that signed it.",
            "Check the agent's configuration names this hotspot's own key file.",
        ),
        Reason::BeaconUnknownHotspot | Reason::WitnessUnknownHotspot => (
            "The key that signed the report is not an onboarded hotspot.",
            "Onboard the hotspot (hotspot-agent onboard) before it reports.",
        ),
        Reason::BeaconNoLocation | Reason::WitnessNoLocation => (
            "The hotspot has no asserted location, so its reports cannot be checked against \
             the physics of radio.",
            "Assert the hotspot's location (hotspot-agent assert).",
        ),
        Reason::BeaconLocationUnrevealed | Reason::WitnessLocationUnrevealed => (
            "The chain keeps only a commitment to the hotspot's exact cell, and the report did \
             not reveal the cell that opens it, so the oracles could not place the hotspot.",
            "Set `location` in the agent's configuration to the exact cell that `hotspot-agent \
             onboard` or `assert` printed (after a new assertion, the new one), and restart it.",
        ),
        Reason::BeaconEntropyUnknown => (
            "The beacon was built from entropy the oracle never published, so it could have \
             been prepared in advance.",
            "Make sure the agent receives the oracle's entropy (its broker connection is up); \
             update the agent if it persists.",
        ),
        Reason::BeaconEntropyExpired => (
            "The beacon was sent after the entropy it was built from had expired.",
            CHECK_CLOCK,
        ),
        Reason::BeaconPayloadMismatch => (
            "The beacon's radio packet is not the one its entropy and key produce.",
            UPDATE,
        ),
        Reason::BeaconTooFrequent => (
            "The hotspot beaconed again sooner than the network's beacon interval allows; \
             only the first counted.",
            "Leave the agent's beacon interval at its default.",
        ),
        Reason::BeaconTimestampFuture | Reason::WitnessTimestampFuture => (
            "The report is dated later than the moment the oracle received it.",
            CHECK_CLOCK,
        ),
        Reason::BeaconTimestampStale | Reason::WitnessTimestampStale => (
            "The report reached the oracle too long after it was made.",
            CHECK_CLOCK,
        ),
        Reason::BeaconBadFrequency => (
            "The beacon was sent on a frequency outside the region's channel plan.",
            "Check the concentrator's region and channel plan match where the hotspot is.",
        ),
        Reason::BeaconBadDataRate => (
            "The beacon used a data rate the region's plan does not allow for beacons.",
            "Check the concentrator's region and channel plan match where the hotspot is.",
        ),
        Reason::BeaconTxPowerTooHigh => (
            "The beacon's stated transmit power plus antenna gain is above the region's legal \
             limit.",
            "Lower the transmit power or declare the antenna's real gain.",
        ),
        Reason::BeaconDuplicate => (
            "The same beacon packet was reported twice; the copy was not counted.",
            NOTHING,
        ),
        Reason::BeaconLate => (
            "Other hotspots' receptions of this beacon reached the oracle long before the \
             beacon itself: it looks held back.",
            CHECK_CLOCK,
        ),
        Reason::BeaconAntennaOutOfRange | Reason::WitnessAntennaOutOfRange => (
            "The hotspot declares an antenna gain or elevation outside what the network allows.",
            CHECK_SITE,
        ),
        Reason::WitnessSelf => ("The hotspot reported hearing its own beacon.", UPDATE),
        Reason::WitnessNoValidBeacon => (
            "No valid beacon matches the packet this hotspot says it heard (the beacon was \
             invalid, or never sent).",
            NOTHING,
        ),
        Reason::WitnessLate => (
            "The reception arrived after its beacon had already been judged.",
            CHECK_CLOCK,
        ),
        Reason::WitnessTimeWindow => (
            "The reception is dated too long before or after the beacon was sent: a radio \
             cannot hear a packet at that time (a replayed packet looks like this).",
            CHECK_CLOCK,
        ),
        Reason::WitnessFrequencyMismatch => (
            "The reception's frequency differs from the beacon's.",
            "Check the concentrator's region and its frequency calibration.",
        ),
        Reason::WitnessDataRateMismatch => (
            "The reception's data rate differs from the beacon's.",
            UPDATE,
        ),
        Reason::WitnessTooClose => (
            "The hotspot is too close to the beaconer (the same neighbourhood) for the \
             reception to show coverage.",
            NOTHING,
        ),
        Reason::WitnessTooFar => (
            "The beaconer is farther away than a reception can plausibly travel, by the two \
             asserted locations.",
            CHECK_SITE,
        ),
        Reason::WitnessRssiTooHigh => (
            "The reception was stronger than radio allows over the distance between the \
             asserted locations (a hotspot closer than it claims, or a forged signal).",
            CHECK_SITE,
        ),
        Reason::WitnessBeaconInconsistent => (
            "Most receptions of this beacon failed the same signal or time check, so the \
             beacon's own claims are the likelier fault; this does not count against you.",
            NOTHING,
        ),
        Reason::WitnessSnrTooLow => (
            "The reported signal-to-noise ratio is below what the data rate can decode.",
            UPDATE,
        ),
        Reason::WitnessDuplicate => (
            "The hotspot reported the same beacon twice; the copy was not counted.",
            NOTHING,
        ),
        Reason::WitnessLocationTooRecent => (
            "The hotspot's location was asserted too recently; receptions count once it has \
             settled.",
            "Wait: receptions count again after the settling period.",
        ),
    };
    Explanation {
        code: r.code(),
        what,
        action,
    }
}

/// The words for a detection finding.
pub fn finding(c: Code) -> Explanation {
    let (what, action) = match c {
        Code::SignalInconsistentWithLocation => (
            "Over the epoch, the strength of what this hotspot heard does not fit where it is \
             asserted: its receptions are consistently louder or quieter than its neighbours' \
             at those distances.",
            CHECK_SITE,
        ),
        Code::BeaconsLouderThanClaimed => (
            "Other hotspots hear this hotspot's beacons consistently louder than its asserted \
             location and stated power allow.",
            CHECK_SITE,
        ),
        Code::HearsBeyondRange => (
            "This hotspot reports hearing beacons from farther away than its neighbours ever \
             do, consistently over the epoch.",
            CHECK_SITE,
        ),
        Code::OneRadioManyKeys => (
            "This key's receptions match another key's so closely that one radio appears to \
             report as several hotspots.",
            "Run one key per radio; keys sharing a radio are suspended together.",
        ),
        Code::MissingExpectedWitnesses => (
            "Neighbours that should have heard this hotspot's beacons, by distance and \
             terrain, heard almost none of them.",
            "Check the antenna and its cable; a hotspot indoors or behind walls may need a \
             better site.",
        ),
        Code::NoReciprocity => (
            "This hotspot hears its neighbours, but they do not hear it: links that work one \
             way only.",
            "Check the antenna, its cable and the transmit power; a hotspot that only \
             receives does not provide coverage.",
        ),
    };
    Explanation {
        code: c.code(),
        what,
        action,
    }
}

/// The words for a stored verdict code (`"valid"`, a rejection reason) or a finding code;
/// `None` for a code this version does not know.
pub fn code(code: &str) -> Option<Explanation> {
    if code == VALID.code {
        return Some(VALID);
    }
    if code == PENDING.code {
        return Some(PENDING);
    }
    Reason::ALL
        .iter()
        .find(|r| r.code() == code)
        .map(|r| reason(*r))
        .or_else(|| Code::from_code(code).map(finding))
}

/// Every explanation, verdicts then findings (what the explorer serves).
pub fn all() -> Vec<Explanation> {
    [VALID, PENDING]
        .into_iter()
        .chain(Reason::ALL.iter().map(|r| reason(*r)))
        .chain(Code::ALL.iter().map(|c| finding(*c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_and_finding_is_explained_in_words_of_its_own() {
        let all = all();
        assert_eq!(all.len(), 2 + Reason::ALL.len() + Code::ALL.len());
        let mut whats = std::collections::BTreeSet::new();
        for e in &all {
            assert_eq!(code(e.code), Some(*e), "{}", e.code);
            // A sentence, not the code again.
            assert!(e.what.len() > 30 && e.what.ends_with('.'), "{}", e.code);
            assert!(
                !e.what.contains(e.code) && !e.what.contains('_'),
                "{}",
                e.code
            );
            assert!(
                !e.action.is_empty() && e.action.ends_with('.'),
                "{}",
                e.code
            );
            whats.insert(e.what);
        }
        // Codes that share words are the beacon/witness twins of one rule.
        assert!(
            whats.len() >= all.len() - 6,
            "{} distinct of {}",
            whats.len(),
            all.len()
        );
        assert_eq!(code("no_such_code"), None);
    }
}
