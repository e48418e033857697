//! Wire shapes sent by more than one edge: a notification is both an item of
//! `GET /notifications` and the payload of the `notification` socket event (CLIENT-CONTRACT §4,
//! §5), so its shape sits below both `api` and `notifications`, and they cannot drift apart.
//!
//! It also holds `document_view!`, the one declaration of what every stored record looks like to
//! the clients, so that `api::views` and this file build their views the same way.

use crate::domain::notification::Notification;

/// Declares the view of a stored record as the clients read it: a Mongoose document whose `_id`
/// comes first and `createdAt`, `updatedAt` and `__v` last, and the function that builds it from
/// the record. Only the fields in between are written per view, each with the expression that
/// fills it from the record (`as r`). Without extra arguments the builder is `From<&Record>`; with
/// them it is `new(r, args…)`. The fields keep their order, so the OpenAPI schema is the one a
/// hand-written struct would give.
macro_rules! document_view {
    (
        $(#[$meta:meta])*
        pub struct $view:ident $(<$($g:ident),+>)? from $record:ty as $r:ident;
        { $($body:tt)* }
    ) => {
        $crate::wire::document_view!(@struct [$(#[$meta])*] $view [$($($g),+)?] { $($body)* });
        impl $(<$($g: $crate::wire::Field),+>)? From<&$record> for $view $(<$($g),+>)? {
            fn from($r: &$record) -> Self {
                $crate::wire::document_view!(@fill $view $r { $($body)* })
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $view:ident $(<$($g:ident),+>)? from $record:ty as $r:ident,
            $($arg:ident: $arg_ty:ty),+;
        { $($body:tt)* }
    ) => {
        $crate::wire::document_view!(@struct [$(#[$meta])*] $view [$($($g),+)?] { $($body)* });
        impl $(<$($g: $crate::wire::Field),+>)? $view $(<$($g),+>)? {
            pub fn new($r: &$record, $($arg: $arg_ty),+) -> Self {
                $crate::wire::document_view!(@fill $view $r { $($body)* })
            }
        }
    };
    (@struct [$(#[$meta:meta])*] $view:ident [$($g:ident),*] {
        $($(#[$field_meta:meta])* $field:ident: $ty:ty = $value:expr),* $(,)?
    }) => {
        #[derive(poem_openapi::Object, serde::Serialize, Debug, Clone)]
        #[oai(rename_all = "camelCase")]
        #[serde(rename_all = "camelCase")]
        $(#[$meta])*
        pub struct $view<$($g: $crate::wire::Field),*> {
            #[oai(rename = "_id")]
            #[serde(rename = "_id")]
            pub id: String,
            $($(#[$field_meta])* pub $field: $ty,)*
            pub created_at: String,
            pub updated_at: String,
            #[oai(rename = "__v")]
            #[serde(rename = "__v")]
            pub version: i64,
        }
    };
    (@fill $view:ident $r:ident {
        $($(#[$field_meta:meta])* $field:ident: $ty:ty = $value:expr),* $(,)?
    }) => {
        $view {
            id: $r.id.to_string(),
            $($field: $value,)*
            created_at: $r.created_at.to_iso(),
            updated_at: $r.updated_at.to_iso(),
            version: $r.version,
        }
    };
}
pub(crate) use document_view;

/// A view of a stored record that is not a whole Mongoose document (a payment has no `__v`; a
/// supporter's list neither `__v` nor `updatedAt`), declared the way `document_view!` declares
/// one: `_id` first, then each field once with the expression that fills it from the record
/// (`as r`), and `From<&Record>` built from them.
macro_rules! record_view {
    (
        $(#[$meta:meta])*
        pub struct $view:ident from $record:ty as $r:ident;
        { $($(#[$field_meta:meta])* $field:ident: $ty:ty = $value:expr),* $(,)? }
    ) => {
        #[derive(poem_openapi::Object, serde::Serialize, Debug, Clone)]
        #[oai(rename_all = "camelCase")]
        #[serde(rename_all = "camelCase")]
        $(#[$meta])*
        pub struct $view {
            #[oai(rename = "_id")]
            #[serde(rename = "_id")]
            pub id: String,
            $($(#[$field_meta])* pub $field: $ty,)*
        }
        impl From<&$record> for $view {
            fn from($r: &$record) -> Self {
                $view { id: $r.id.to_string(), $($field: $value,)* }
            }
        }
    };
}
pub(crate) use record_view;

/// What a view's generic field may hold (a populated reference or its id).
pub trait Field:
    poem_openapi::types::ToJSON + poem_openapi::types::ParseFromJSON + serde::Serialize + Send + Sync
{
}
impl<
    T: poem_openapi::types::ToJSON
        + poem_openapi::types::ParseFromJSON
        + serde::Serialize
        + Send
        + Sync,
> Field for T
{
}

document_view! {
    #[oai(rename = "Notification")]
    pub struct NotificationView from Notification as n;
    {
        /// The recipient's id.
        recipient: String = n.recipient.to_string(),
        /// `Teacher` or `Student`.
        recipient_model: String = n.recipient_model().into(),
        message: String = n.message.clone(),
        read: bool = n.read,
        /// `TEACHER` or `STUDENT`: the recipient's role.
        role: String = n.role.as_str().into(),
        /// `taskAssigned`, `taskAchieved`, `taskApproved`, `rewardAssigned` or `rewardClaimed`.
        #[oai(rename = "type")]
        #[serde(rename = "type")]
        kind: String = n.kind.as_str().into(),
    }
}
