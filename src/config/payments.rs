//! The payment settings grouped and checked (docs/decisions.md, "Payments"): the policy (fee,
//! bounds, currency) always applies; Stripe is an optional integration, on when
//! `STRIPE_SECRET_KEY` is set, and then needs the publishable key and a webhook secret too.

use secrecy::{ExposeSecret, SecretString};

use super::settings::{PLACEHOLDER, Settings};
use super::strength::weak_secret_reason;

/// What a payment may be, whether or not Stripe is configured.
#[derive(Clone, Debug)]
pub struct PaymentPolicy {
    /// The platform's share in basis points (2000 = 20 %).
    pub fee_basis_points: u32,
    pub minimum_amount: u64,
    pub maximum_amount: u64,
    pub currency: String,
    /// How long a payment may wait in `processing`/`requires_*` before the job re-reads it.
    pub reconcile_after: std::time::Duration,
}

/// Stripe, when configured.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    pub secret_key: SecretString,
    pub publishable_key: String,
    /// Every secret a webhook signature may be made with (several during a rotation).
    pub webhook_secrets: Vec<SecretString>,
    pub api_base: String,
    pub js_url: String,
}

pub(super) struct Grouped {
    pub policy: PaymentPolicy,
    pub stripe: Option<StripeConfig>,
    pub warnings: Vec<String>,
}

pub(super) fn group(s: &Settings, production: bool, problems: &mut Vec<String>) -> Grouped {
    let mut warnings = Vec::new();
    let policy = PaymentPolicy {
        fee_basis_points: s.platform_fee_percentage,
        minimum_amount: s.minimum_payment_amount,
        maximum_amount: s.maximum_payment_amount,
        currency: s.default_currency.trim().to_ascii_lowercase(),
        reconcile_after: s.payment_reconcile_after,
    };
    if policy.minimum_amount == 0 || policy.minimum_amount > policy.maximum_amount {
        problems.push(
            "MINIMUM_PAYMENT_AMOUNT must be at least 1 and at most MAXIMUM_PAYMENT_AMOUNT".into(),
        );
    }
    // Stripe's amounts are 8 digits at most; a larger bound could never be charged.
    if policy.maximum_amount > 99_999_999 {
        problems.push("MAXIMUM_PAYMENT_AMOUNT must be at most 99999999".into());
    }
    if policy.currency.len() != 3 || !policy.currency.chars().all(|c| c.is_ascii_lowercase()) {
        problems.push("DEFAULT_CURRENCY must be a three-letter ISO currency code, e.g. usd".into());
    }
    for (name, url) in [
        ("STRIPE_API_BASE", &s.stripe_api_base),
        ("STRIPE_JS_URL", &s.stripe_js_url),
    ] {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if production && u.scheme() != "https" {
                    problems.push(format!("{name} must be an https:// URL in production"));
                }
            }
            _ => problems.push(format!("{name}: {url:?} is not an http(s) URL")),
        }
    }

    let Some(secret_key) = s.stripe_secret_key.clone() else {
        return Grouped {
            policy,
            stripe: None,
            warnings,
        };
    };
    let key = secret_key.expose_secret().trim();
    let rest = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"]
        .iter()
        .find_map(|p| key.strip_prefix(p));
    match rest {
        None => problems.push(
            "STRIPE_SECRET_KEY must be a Stripe secret key (sk_live_... or sk_test_...)".into(),
        ),
        Some(rest) if production => {
            if key.contains(PLACEHOLDER) || key.contains('<') {
                problems.push(
                    "STRIPE_SECRET_KEY is a placeholder; set the key from the Stripe dashboard"
                        .into(),
                );
            } else if let Some(why) = weak_secret_reason(rest) {
                problems.push(format!("STRIPE_SECRET_KEY {why}"));
            }
            if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
                warnings.push(
                    "STRIPE_SECRET_KEY is a test-mode key in production: no real card is charged"
                        .into(),
                );
            }
        }
        Some(_) => {}
    }
    let publishable_key = match s.stripe_publishable_key.clone() {
        Some(k) if k.starts_with("pk_") => k,
        Some(_) => {
            problems.push("STRIPE_PUBLISHABLE_KEY must be a publishable key (pk_...)".into());
            String::new()
        }
        None => {
            problems.push("STRIPE_PUBLISHABLE_KEY is required with STRIPE_SECRET_KEY".into());
            String::new()
        }
    };
    let webhook_secrets: Vec<SecretString> = match &s.stripe_webhook_secret {
        Some(all) => all
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(SecretString::from)
            .collect(),
        None => Vec::new(),
    };
    if webhook_secrets.is_empty() {
        problems.push(
            "STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY (whsec_..., comma-separated during a rotation)"
                .into(),
        );
    }
    if production {
        for secret in &webhook_secrets {
            let v = secret.expose_secret();
            if v.contains(PLACEHOLDER) || v.contains('<') {
                problems.push("STRIPE_WEBHOOK_SECRET is a placeholder".into());
            } else if let Some(why) = weak_secret_reason(v.strip_prefix("whsec_").unwrap_or(v)) {
                problems.push(format!("STRIPE_WEBHOOK_SECRET {why}"));
            }
        }
    }
    Grouped {
        policy,
        stripe: Some(StripeConfig {
            secret_key,
            publishable_key,
            webhook_secrets,
            api_base: s.stripe_api_base.trim_end_matches('/').to_owned(),
            js_url: s.stripe_js_url.clone(),
        }),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::super::kinds::{Fraction, Kind};

    #[test]
    fn fractions_read_as_basis_points() {
        assert_eq!(Fraction::parse("0.20"), Ok(2000));
        assert_eq!(Fraction::parse("0.2"), Ok(2000));
        assert_eq!(Fraction::parse("0"), Ok(0));
        assert_eq!(Fraction::parse("0.0125"), Ok(125));
        assert!(Fraction::parse("1").is_err());
        assert!(Fraction::parse("0.12345").is_err());
        assert!(Fraction::parse("-0.1").is_err());
        assert!(Fraction::parse("20%").is_err());
        assert_eq!(Fraction::show(&2000), "0.2");
        assert_eq!(Fraction::show(&0), "0.0");
    }
}
