//! Assertions on the shapes CLIENT-CONTRACT fixes: Mongoose-like documents, ISO-8601 times,
//! the top-level `pagination`, and small readers of list answers.

use serde_json::{Value, json};

use super::http::Res;

/// A Mongoose-shaped document: `_id` (24 hex), `createdAt`/`updatedAt` ISO-8601 UTC with
/// milliseconds and `Z`, `__v` a number.
#[track_caller]
pub fn assert_document(doc: &Value) {
    let id = doc["_id"].as_str().unwrap_or_else(|| panic!("_id: {doc}"));
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "_id: {doc}"
    );
    for field in ["createdAt", "updatedAt"] {
        assert_iso(
            doc[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field}: {doc}")),
        );
    }
    assert!(doc["__v"].is_i64(), "__v: {doc}");
}

#[track_caller]
pub fn assert_iso(s: &str) {
    assert!(
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "not ISO-8601 UTC with milliseconds: {s}"
    );
}

/// The contract's `pagination` object, at the top level of a list answer.
#[track_caller]
pub fn assert_pagination(res: &Res, page: u64, total: u64) {
    assert_eq!(
        res.body["pagination"],
        json!({"page": page, "limit": 10, "total": total, "totalPage": total.div_ceil(10)}),
        "{}",
        res.text
    );
    assert!(res.data().is_array(), "{}", res.text);
    assert!(res.data().get("pagination").is_none());
}

/// The keys of a JSON object, for "exactly these fields" checks.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// `[name]` of each item of a list answer's `data`.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `data[..]._id` of a list answer.
pub fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|d| d["_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `_id` of a document.
pub fn id(data: &Value) -> String {
    data["_id"].as_str().unwrap().to_owned()
}
