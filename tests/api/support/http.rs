//! The one way tests talk HTTP to a server: [`TestApp::send`] (paths under `/api/v1`, as
//! CLIENT-CONTRACT and the OpenAPI document write them) and [`TestApp::request`] (paths from the
//! server root: `/images/..`, `/metrics`, health). Every response is read here and scanned by
//! [`leaks`], so the "no password, hash or reset code in a response" rule covers every test that
//! talks HTTP, not only the accounts tests.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::TestApp;

/// A response: status, headers, raw bytes and text, and the JSON body (`Null` when the body is
/// not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub text: String,
    pub body: Value,
}

impl Res {
    /// Asserts a 200 success envelope and returns its `data`.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        self.status(200);
        assert_eq!(self.body["success"], true, "{}", self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
        &self.body["data"]
    }

    /// Asserts the status; a failure must carry the error envelope with a readable message.
    #[track_caller]
    pub fn status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        if status >= 400 {
            assert_eq!(self.body["success"], false, "{}", self.text);
            assert!(!self.message().is_empty(), "no message: {}", self.text);
            assert!(self.body["errorMessages"].is_array(), "{}", self.text);
        }
        self
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The `content-type` header, empty when absent.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A request being built; `.await` sends it and returns the checked [`Res`].
#[must_use = "a request does nothing until awaited"]
pub struct Call<'a> {
    app: &'a TestApp,
    builder: reqwest::RequestBuilder,
    /// The OpenAPI document names fields (`password` among them) without holding values: its
    /// keys are not scanned, its text is.
    is_document: bool,
}

impl<'a> Call<'a> {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.authorization(&format!("Bearer {token}"))
    }

    /// A bearer token when there is one, no header otherwise.
    pub fn token(self, token: Option<&str>) -> Self {
        match token {
            Some(t) => self.bearer(t),
            None => self,
        }
    }

    /// `authorization` as the whole header value (`Bearer undefined`, a raw reset token).
    pub fn authorization(self, value: &str) -> Self {
        self.header("authorization", value)
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        Call {
            builder: self.builder.header(name, value),
            ..self
        }
    }

    pub fn json(self, body: &Value) -> Self {
        Call {
            builder: self.builder.json(body),
            ..self
        }
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Call {
            builder: self.builder.body(body),
            ..self
        }
    }

    /// A `multipart/form-data` body as the app and dashboard send it (built by hand: reqwest's
    /// multipart feature is not enabled): text `fields`, and an optional file part `image`
    /// given as `(bytes, file name, content type)`.
    pub fn multipart(self, fields: &[(&str, &str)], image: Option<(&[u8], &str, &str)>) -> Self {
        let boundary = format!("----quokki{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((bytes, file_name, content_type)) = image {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
                     filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
    }

    async fn send(self) -> Res {
        let resp = self.builder.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("a body").to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let watched = self.app.watched();
        let scanned = if self.is_document {
            &Value::Null
        } else {
            &body
        };
        if let Some(leak) = leaks(&text, scanned, &watched) {
            panic!("a secret in a response ({leak}): {text}");
        }
        Res {
            status,
            headers,
            bytes,
            text,
            body,
        }
    }
}

impl<'a> IntoFuture for Call<'a> {
    type Output = Res;
    type IntoFuture = Pin<Box<dyn Future<Output = Res> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Keys that name a secret wherever they appear (compared without case, `_` or `-`).
const SECRET_KEYS: &[&str] = &[
    "passwordhash",
    "hash",
    "passcodesealed",
    "passcodelookup",
    "onetimecode",
    "otp",
    "resetcode",
    "tokenepoch",
];

/// What in a response gives a secret away, if anything: an argon2 hash or a watched secret
/// anywhere in the text; a secret key anywhere in the JSON; a `password` key anywhere but on a
/// student document, whose `password` is its 6-digit passcode (CLIENT-CONTRACT §2).
pub fn leaks(text: &str, body: &Value, watched: &[String]) -> Option<String> {
    if text.contains("$argon2") {
        return Some("an argon2 hash".into());
    }
    if let Some(secret) = watched.iter().find(|s| text.contains(s.as_str())) {
        return Some(format!("the watched secret {secret:?}"));
    }
    json_leak(body)
}

fn json_leak(v: &Value) -> Option<String> {
    match v {
        Value::Array(items) => items.iter().find_map(json_leak),
        Value::Object(map) => {
            for (key, value) in map {
                let folded: String = key
                    .chars()
                    .filter(|c| *c != '_' && *c != '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                if SECRET_KEYS.contains(&folded.as_str()) {
                    return Some(format!("the key {key:?}"));
                }
                if folded == "password" && !is_student_passcode(map, value) {
                    return Some(format!("the key {key:?} outside a student's passcode"));
                }
                if let Some(leak) = json_leak(value) {
                    return Some(leak);
                }
            }
            None
        }
        _ => None,
    }
}

fn is_student_passcode(doc: &serde_json::Map<String, Value>, password: &Value) -> bool {
    doc.get("role").and_then(Value::as_str) == Some("STUDENT")
        && password
            .as_str()
            .is_some_and(|p| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl TestApp {
    /// A request to `path` under `/api/v1`.
    pub fn send(&self, method: Method, path: &str) -> Call<'_> {
        self.request(method, &format!("/api/v1{path}"))
    }

    /// A request to `path` from the server root.
    pub fn request(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            builder: self.client.request(method, self.url(path)),
            is_document: path.ends_with("/openapi.json"),
        }
    }

    /// From now on, `secret` must not appear in any response of this server.
    pub fn watch(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_owned());
    }

    fn watched(&self) -> Vec<String> {
        self.secrets.lock().unwrap().clone()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        self.send(Method::GET, path).token(token).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Res {
        self.send(Method::DELETE, path).token(token).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.send(Method::POST, path).token(token).json(&body).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.send(Method::PATCH, path)
            .token(token)
            .json(&body)
            .await
    }

    /// GETs a file under the server root (`/images/...`): status, content type, bytes.
    pub async fn file(&self, path: &str) -> (u16, String, Vec<u8>) {
        let res = self.request(Method::GET, path).await;
        (res.status, res.content_type().to_owned(), res.bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::leaks;

    #[test]
    fn the_scan_finds_secrets_at_any_depth_and_spares_a_students_passcode() {
        let clean = json!({"data": [{"role": "STUDENT", "password": "482913", "name": "Kid"}],
                           "errorMessages": [{"path": "password", "message": "password is required"}]});
        assert_eq!(leaks(&clean.to_string(), &clean, &[]), None);
        for bad in [
            json!({"data": {"teacher": {"password": "hunter22"}}}),
            json!({"data": [{"role": "TEACHER", "password": "123456"}]}),
            json!({"data": {"student": {"role": "STUDENT", "password": "not six digits"}}}),
            json!({"data": {"passwordHash": "x"}}),
            json!({"data": [{"x": {"password_hash": "x"}}]}),
            json!({"hash": "abc"}),
            json!({"data": {"oneTimeCode": 1234}}),
            json!({"data": "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"}),
        ] {
            assert!(leaks(&bad.to_string(), &bad, &[]).is_some(), "{bad}");
        }
        let body = json!({"data": "code 8412 sent"});
        assert!(leaks(&body.to_string(), &body, &["8412".into()]).is_some());
    }
}
