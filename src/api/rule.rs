//! `/rule/*`: the privacy policy and the terms and conditions. Admins write them as HTML; every
//! signed-in account reads them. The HTML is stored and returned exactly as written, as JSON data:
//! the server never renders or sanitizes it (displaying it safely is the client's job, as it was
//! with the old server).

use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::views::RuleView;
use crate::domain::Admin;
use crate::domain::content::RuleType;
use crate::http::auth::{Account, Auth};
use crate::http::fields::Required;
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::state::AppState;

pub struct RuleApi;

#[derive(Object)]
struct UpdateRuleBody {
    /// The whole document as an HTML string, at most 200000 characters. Read as any JSON value so
    /// that a number or an object is refused with a clear message instead of being turned into
    /// text.
    content: Required<Any<serde_json::Value>>,
}

/// A bound on a rule's size: a long policy is some 50000 characters of HTML, and this keeps one
/// document well below MongoDB's 16 MB and the server's body limit.
const CONTENT_MAX: usize = 200_000;

/// `content` is a required, non-blank string, kept exactly as sent (not trimmed): it is HTML the
/// admin's editor produced.
fn content(raw: Option<&Any<serde_json::Value>>) -> ApiResult<&str> {
    let content = match raw.map(|v| &v.0) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(ApiError::field(
                "content",
                "content must be text (the HTML of the document)",
            ));
        }
    }
    .filter(|c| !c.trim().is_empty())
    .ok_or_else(|| ApiError::field("content", "content is required"))?;
    if content.chars().count() > CONTENT_MAX {
        return Err(ApiError::field(
            "content",
            format!("content must have at most {CONTENT_MAX} characters"),
        ));
    }
    Ok(content)
}

async fn read(state: &AppState, kind: RuleType, what: &str) -> Reply<RuleView> {
    let view = match state.store.rules.get(kind).await? {
        Some(rule) => RuleView::from(&rule),
        None => RuleView::empty(kind),
    };
    ok(&format!("{what} retrieved successfully"), view)
}

async fn write(
    state: &AppState,
    kind: RuleType,
    body: &UpdateRuleBody,
    what: &str,
) -> Reply<RuleView> {
    let content = content(body.content.as_ref())?;
    let now = state.clock.now();
    let rule = state.store.rules.upsert(kind, content, now).await?;
    ok(&format!("{what} updated successfully"), &rule)
}

/// The routes of each rule: read by any signed-in account, written by admins. Both rules are the
/// same two routes over another `RuleType`, so they are declared as rows; the docs are the
/// operations' descriptions in the OpenAPI document.
macro_rules! rule_routes {
    ($(
        $(#[$read_doc:meta])* read $read:ident,
        $(#[$write_doc:meta])* write $write:ident,
        at $path:tt, $kind:expr, $what:literal;
    )*) => {
        #[OpenApi(tag = "ApiTags::Rule")]
        impl RuleApi {$(
            $(#[$read_doc])*
            #[oai(path = $path, method = "get")]
            async fn $read(&self, auth: Auth<'_, Account>) -> Reply<RuleView> {
                read(auth.state, $kind, $what).await
            }

            $(#[$write_doc])*
            #[oai(path = $path, method = "patch")]
            async fn $write(&self, auth: Auth<'_, Admin, UpdateRuleBody>) -> Reply<RuleView> {
                write(auth.state, $kind, &auth.body, $what).await
            }
        )*}
    };
}

rule_routes! {
    /// The privacy policy (any signed-in account). Before an admin has written it, `content` is
    /// empty and the document has no `_id` or timestamps.
    read privacy_policy,
    /// Writes the privacy policy, creating it when missing (admins).
    write update_privacy_policy,
    at "/rule/privacy-policy", RuleType::PrivacyPolicy, "Privacy policy";

    /// The terms and conditions (any signed-in account). Before an admin has written them,
    /// `content` is empty and the document has no `_id` or timestamps.
    read terms_and_conditions,
    /// Writes the terms and conditions, creating them when missing (admins).
    write update_terms_and_conditions,
    at "/rule/terms-and-conditions", RuleType::TermsAndConditions, "Terms and conditions";
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_is_kept_as_sent() {
        let v = |j: serde_json::Value| Some(Any(j));
        let html = "  <h1>Privacy</h1>\n<p>We keep <b>little</b>.</p>  ";
        assert_eq!(content(v(json!(html)).as_ref()).unwrap(), html);
        assert!(content(None).is_err());
        for bad in [
            json!(null),
            json!(" \n "),
            json!(42),
            json!(["<p>"]),
            json!({}),
        ] {
            assert!(content(v(bad.clone()).as_ref()).is_err(), "{bad}");
        }
        let at_most = "é".repeat(CONTENT_MAX);
        assert!(
            content(v(json!(at_most)).as_ref()).is_ok(),
            "characters, not bytes"
        );
        assert!(content(v(json!(format!("{at_most}x"))).as_ref()).is_err());
    }
}
