//! Point amounts a teacher sets: what a task is worth and what a reward costs. Each is an integer
//! in a fixed range, so that a typo cannot make a student's balance or a reward absurd.

use super::invalid::Invalid;

/// An integer in `MIN..=MAX`; built only by [`Ranged::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ranged<const MIN: i64, const MAX: i64>(i64);

/// A task's points (CLIENT-CONTRACT §3): added to a student's balance when the task is approved,
/// negative for behaviour to discourage.
pub type TaskPoints = Ranged<-500, 500>;
/// A reward's `requiredPoints`; the ceiling keeps a typo from making a reward unreachable forever.
pub type Price = Ranged<0, 1_000_000>;

impl<const MIN: i64, const MAX: i64> Ranged<MIN, MAX> {
    pub const MIN: i64 = MIN;
    pub const MAX: i64 = MAX;

    pub fn parse(value: i64) -> Result<Self, Invalid> {
        if (MIN..=MAX).contains(&value) {
            Ok(Ranged(value))
        } else {
            Err(Invalid::OutOfRange { min: MIN, max: MAX })
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> From<Ranged<MIN, MAX>> for i64 {
    fn from(v: Ranged<MIN, MAX>) -> i64 {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(TaskPoints::parse(-500).unwrap().get(), -500);
        assert_eq!(TaskPoints::parse(500).unwrap().get(), 500);
        assert_eq!(
            TaskPoints::parse(501).unwrap_err(),
            Invalid::OutOfRange {
                min: -500,
                max: 500
            }
        );
        assert!(Price::parse(-1).is_err());
        assert!(Price::parse(1_000_000).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_exactly_in_range(v in any::<i64>()) {
            prop_assert_eq!(TaskPoints::parse(v).map(i64::from).ok(), (-500..=500).contains(&v).then_some(v));
            prop_assert_eq!(Price::parse(v).map(i64::from).ok(), (0..=1_000_000).contains(&v).then_some(v));
        }
    }
}
