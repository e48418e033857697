//! Classroom projects and the payments that fund them (docs/decisions.md, "Payments"): the
//! product's rules in whole numbers of the currency's smallest unit, with no I/O.
//!
//! - A teacher publishes a project with a goal; supporters pay toward it by card.
//! - The platform keeps `fee_basis_points` of each payment, rounded half-up to the smallest unit;
//!   the rest (`net`) counts toward the goal (`raised`).
//! - When `raised` reaches the goal the project is `funded` and takes no more payments; an admin
//!   marks it `fulfilled` once the items are bought. A teacher may `close` an open project.

use super::invalid::{Invalid, at_most};
use super::text::Bounded;
use super::{Id, Millis};

pub type ProjectTitle = Bounded<120>;
pub type ProjectDescription = Bounded<5000>;
/// What a supporter shows of themself on the project: a display name and a short message.
pub type SupporterName = Bounded<60>;
pub type SupporterMessage = Bounded<500>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectStatus {
    Open,
    Funded,
    Closed,
    Fulfilled,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Open => "open",
            ProjectStatus::Funded => "funded",
            ProjectStatus::Closed => "closed",
            ProjectStatus::Fulfilled => "fulfilled",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::Funded, Self::Closed, Self::Fulfilled]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub id: Id,
    pub teacher: Id,
    pub title: String,
    pub description: String,
    pub class: String,
    /// In the smallest unit of `currency`.
    pub goal: i64,
    pub picture: Option<String>,
    pub currency: String,
    pub status: ProjectStatus,
    /// Net amounts of succeeded payments, less refunds' net shares.
    pub raised: i64,
    /// Succeeded payments.
    pub supporters: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

impl Project {
    pub fn remaining(&self) -> i64 {
        (self.goal - self.raised).max(0)
    }
}

/// What a teacher may change while no payment exists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub class: Option<String>,
    pub goal: Option<i64>,
    pub picture: Option<String>,
}

/// The payment's state as Stripe's PaymentIntent says it, and `failed` for a
/// `payment_intent.payment_failed` (Stripe then goes back to `requires_payment_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    RequiresCapture,
    Processing,
    Failed,
    Succeeded,
    Canceled,
}

impl PaymentStatus {
    const ALL: [PaymentStatus; 8] = [
        Self::RequiresPaymentMethod,
        Self::RequiresConfirmation,
        Self::RequiresAction,
        Self::RequiresCapture,
        Self::Processing,
        Self::Failed,
        Self::Succeeded,
        Self::Canceled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::RequiresCapture => "requires_capture",
            Self::Processing => "processing",
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
    /// Nothing moves a payment out of these: a late `payment_failed` after `succeeded`, or any
    /// event after `canceled`, changes nothing (order independence).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Canceled)
    }
    /// Still waiting for the supporter or the bank: the reconciliation job re-reads these.
    pub fn is_pending(self) -> bool {
        !self.is_final() && self != Self::Failed
    }
    /// The names of the pending states (for the stores' filters).
    pub fn pending_names() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .map(Self::as_str)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub id: Id,
    /// Stripe's PaymentIntent id (`pi_...`), unique.
    pub intent_id: String,
    pub project: Id,
    /// The project's teacher, so that a teacher's listing needs no join.
    pub teacher: Id,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub supporter_name: Option<String>,
    pub message: Option<String>,
    /// Refunded so far (gross), at most `amount`.
    pub refunded: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One refund as recorded: `net` is what it took back from the project's `raised`.
#[derive(Clone, Debug, PartialEq)]
pub struct Refund {
    /// Stripe's refund id (`re_...`), unique.
    pub id: String,
    pub payment: Id,
    pub amount: i64,
    pub net: i64,
    pub created_at: Millis,
}

/// The platform's share of `amount`, rounded half-up: `amount * bp / 10000`.
pub fn fee_for(amount: i64, fee_basis_points: u32) -> i64 {
    let product = amount as i128 * fee_basis_points as i128;
    ((product + 5_000) / 10_000) as i64
}

/// The net share of a payment still counted in `raised` once `refunded` (gross) is refunded:
/// `net * (amount - refunded) / amount`, rounded down. A refund takes back the difference of this
/// before and after it, so partial refunds add up to exactly `net` when the whole is refunded.
pub fn net_kept(amount: i64, net: i64, refunded: i64) -> i64 {
    if amount <= 0 {
        return 0;
    }
    let left = (amount - refunded).clamp(0, amount);
    (net as i128 * left as i128 / amount as i128) as i64
}

/// Why a payment of `amount` is refused for `project` (the 4xx the public route answers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountRefused {
    TooSmall {
        min: i64,
    },
    TooLarge {
        max: i64,
    },
    /// More than what is left to raise plus the fee on it.
    OverFunding {
        most: i64,
    },
    NotOpen(ProjectStatus),
}

/// The largest payment that does not fund a project past its goal: the smallest `x` with
/// `x - fee(x) >= remaining`, since the net counts toward the goal (so the last payment may tip it
/// over by less than one unit of rounding).
pub fn most_accepted(remaining: i64, fee_basis_points: u32) -> i64 {
    if remaining <= 0 {
        return 0;
    }
    let bp = fee_basis_points as i128;
    // x * (1 - bp/10000) >= remaining, first guess then step to the exact bound.
    let mut x = ((remaining as i128 * 10_000 + (10_000 - bp) - 1) / (10_000 - bp)) as i64;
    while x > 0 && x - 1 - fee_for(x - 1, fee_basis_points) >= remaining {
        x -= 1;
    }
    while x - fee_for(x, fee_basis_points) < remaining {
        x += 1;
    }
    x
}

/// Checks a payment against the policy and the project's state.
pub fn check_amount(
    project: &Project,
    amount: i64,
    min: i64,
    max: i64,
    fee_basis_points: u32,
) -> Result<(), AmountRefused> {
    if project.status != ProjectStatus::Open {
        return Err(AmountRefused::NotOpen(project.status));
    }
    if amount < min {
        return Err(AmountRefused::TooSmall { min });
    }
    if amount > max {
        return Err(AmountRefused::TooLarge { max });
    }
    let most = most_accepted(project.remaining(), fee_basis_points);
    if amount > most {
        return Err(AmountRefused::OverFunding { most });
    }
    Ok(())
}

/// Plain text for a supporter's name or message: no control characters but line breaks in a
/// message, and no markup characters (`<`, `>`), so it is safe wherever a client shows it.
pub fn plain_text<const MAX: usize>(raw: &str, multiline: bool) -> Result<Bounded<MAX>, Invalid> {
    let value = Bounded::<MAX>::parse(raw)?;
    at_most(value.as_str(), MAX)?;
    let bad = value
        .as_str()
        .chars()
        .any(|c| c == '<' || c == '>' || (c.is_control() && !(multiline && c == '\n')));
    if bad {
        Err(Invalid::PlainText)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_half_up() {
        assert_eq!(fee_for(1000, 2000), 200);
        assert_eq!(fee_for(1001, 2000), 200); // 200.2
        assert_eq!(fee_for(1003, 2000), 201); // 200.6
        assert_eq!(fee_for(1, 5000), 1); // 0.5 up
        assert_eq!(fee_for(125, 200), 3); // 2.5 up
        assert_eq!(fee_for(0, 2000), 0);
    }

    #[test]
    fn partial_refunds_add_up_to_the_net() {
        let (amount, net) = (1003, 802);
        let mut taken = 0;
        let mut refunded = 0;
        for part in [1, 333, 333, 336] {
            taken += net_kept(amount, net, refunded) - net_kept(amount, net, refunded + part);
            refunded += part;
        }
        assert_eq!(taken, net);
    }

    #[test]
    fn most_accepted_reaches_the_goal_and_no_further() {
        for bp in [0, 2000, 1234, 5000] {
            for remaining in [1, 2, 99, 100, 801, 1000, 99_999] {
                let x = most_accepted(remaining, bp);
                assert!(x - fee_for(x, bp) >= remaining, "{remaining} {bp}");
                assert!(x - 1 - fee_for(x - 1, bp) < remaining, "{remaining} {bp}");
            }
        }
    }
}
