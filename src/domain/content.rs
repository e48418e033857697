//! What admins publish for everyone and what users send back: preset images (avatars and category
//! icons the app offers to pick from), the rules (privacy policy, terms and conditions) and
//! feedback.

use super::named::named_enum;
use super::{Id, Millis, Role};

named_enum! {
    /// What a preset image is for in the app. `parse` takes the stored (lower-case) form only;
    /// callers lower-case what clients send.
    pub enum PresetType {
        /// A picture a student can take as its profile.
        Avatar = "avatar",
        /// A picture a teacher can give a category or a reward.
        Icon = "icon",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    pub id: Id,
    /// The public path of the uploaded file (`/images/<random>.png`).
    pub image: String,
    pub kind: PresetType,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

named_enum! {
    /// Which of the rules a document is; there is at most one document of each. Its name is also
    /// the last segment of the rule's route (`/rule/privacy-policy`).
    pub enum RuleType {
        PrivacyPolicy = "privacy-policy",
        TermsAndConditions = "terms-and-conditions",
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: Id,
    pub kind: RuleType,
    /// HTML exactly as the admin sent it. The server never renders it; clients that display it
    /// are responsible for how (it is served as JSON data, never as a page of ours).
    pub content: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub id: Id,
    /// The author: a teacher's or a student's id, as `role` says.
    pub user: Id,
    /// `Teacher` or `Student`.
    pub role: Role,
    pub feedback: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for t in [PresetType::Avatar, PresetType::Icon] {
            assert_eq!(PresetType::parse(t.as_str()), Some(t));
        }
        for r in [RuleType::PrivacyPolicy, RuleType::TermsAndConditions] {
            assert_eq!(RuleType::parse(r.as_str()), Some(r));
        }
        assert_eq!(PresetType::parse("Avatar"), None);
        assert_eq!(RuleType::parse("privacy"), None);
    }
}
