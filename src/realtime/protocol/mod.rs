//! The wire format: Engine.IO v4 packets (the transport) carrying Socket.IO v5 packets (the
//! namespaces and events). Text only: our clients emit nothing, and the server sends JSON.
//!
//! Engine.IO packet: one digit type, then data. `0` open, `1` close, `2` ping, `3` pong,
//! `4` message, `5` upgrade, `6` noop. An HTTP long-polling body joins packets with `\x1e`.
//!
//! Socket.IO packet (inside an Engine.IO message): `<type>[<attachments>-][<namespace>,][<ack id>][JSON]`
//! with type `0` CONNECT, `1` DISCONNECT, `2` EVENT, `3` ACK, `4` CONNECT_ERROR, `5` BINARY_EVENT,
//! `6` BINARY_ACK.

use serde_json::{Value, json};

/// The separator of packets in a long-polling payload.
pub const RECORD_SEPARATOR: char = '\x1e';

/// The Socket.IO namespace every client uses; the only one served.
pub const MAIN_NAMESPACE: &str = "/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Open,
    Close,
    Ping,
    Pong,
    Message,
    Upgrade,
    Noop,
}

impl EngineKind {
    fn digit(self) -> char {
        match self {
            EngineKind::Open => '0',
            EngineKind::Close => '1',
            EngineKind::Ping => '2',
            EngineKind::Pong => '3',
            EngineKind::Message => '4',
            EngineKind::Upgrade => '5',
            EngineKind::Noop => '6',
        }
    }
}

/// A decoded Engine.IO packet: its type and the data after the type digit.
#[derive(Debug, PartialEq, Eq)]
pub struct EnginePacket<'a> {
    pub kind: EngineKind,
    pub data: &'a str,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type")]
    UnknownType,
    #[error("malformed packet")]
    Malformed,
}

/// Decodes one text Engine.IO packet. A binary packet in a polling payload (`b<base64>`) is an
/// unknown type here: no client of ours sends binary.
pub fn decode_engine(text: &str) -> Result<EnginePacket<'_>, ProtocolError> {
    let mut chars = text.chars();
    let kind = match chars.next().ok_or(ProtocolError::Empty)? {
        '0' => EngineKind::Open,
        '1' => EngineKind::Close,
        '2' => EngineKind::Ping,
        '3' => EngineKind::Pong,
        '4' => EngineKind::Message,
        '5' => EngineKind::Upgrade,
        '6' => EngineKind::Noop,
        _ => return Err(ProtocolError::UnknownType),
    };
    // Every known type is one ASCII digit, so the data starts at byte 1.
    Ok(EnginePacket {
        kind,
        data: &text[1..],
    })
}

/// Encodes one text Engine.IO packet ([`decode_engine`] reverses it).
pub fn encode_engine(kind: EngineKind, data: &str) -> String {
    let mut out = String::with_capacity(1 + data.len());
    out.push(kind.digit());
    out.push_str(data);
    out
}

/// The packets of a long-polling request body.
pub fn split_payload(body: &str) -> impl Iterator<Item = &str> {
    body.split(RECORD_SEPARATOR)
}

/// The body of a long-polling response: the packets joined by the record separator.
pub fn join_payload<S: AsRef<str>>(packets: &[S]) -> String {
    let mut out = String::with_capacity(packets.iter().map(|p| p.as_ref().len() + 1).sum());
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        out.push_str(p.as_ref());
    }
    out
}

/// The Engine.IO open packet: `0{"sid":...,"upgrades":[...],"pingInterval":...,"pingTimeout":...,"maxPayload":...}`.
pub fn open_packet(
    sid: &str,
    upgrades: &[&str],
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: usize,
) -> String {
    let handshake = json!({
        "sid": sid,
        "upgrades": upgrades,
        "pingInterval": ping_interval_ms,
        "pingTimeout": ping_timeout_ms,
        "maxPayload": max_payload,
    });
    format!("0{handshake}")
}

pub const PING: &str = "2";
pub const PONG_PROBE: &str = "3probe";
pub const PING_PROBE: &str = "2probe";
pub const CLOSE: &str = "1";
pub const NOOP: &str = "6";

/// A decoded Socket.IO packet, as far as the server cares.
#[derive(Debug, PartialEq)]
pub enum SocketPacket<'a> {
    /// The client asks to join `namespace`, with the optional `auth` object of `io(url, {auth})`.
    Connect {
        namespace: &'a str,
        auth: Option<Value>,
    },
    Disconnect {
        namespace: &'a str,
    },
    /// Events, acks and binary packets: valid, but our clients send none and they are ignored.
    Other,
}

/// Decodes a Socket.IO packet (the data of an Engine.IO message).
pub fn decode_socket(text: &str) -> Result<SocketPacket<'_>, ProtocolError> {
    let kind = text.chars().next().ok_or(ProtocolError::Empty)?;
    // Sliced after the whole first character: a client may send a multi-byte one (`4é`).
    let rest = &text[kind.len_utf8()..];
    match kind {
        '0' | '1' => {
            let (namespace, data) = split_namespace(rest);
            if kind == '1' {
                return Ok(SocketPacket::Disconnect { namespace });
            }
            let auth = if data.is_empty() {
                None
            } else {
                match serde_json::from_str::<Value>(data) {
                    // The client's `auth` is an object (socket.io's parser refuses anything else).
                    Ok(v @ Value::Object(_)) => Some(v),
                    _ => return Err(ProtocolError::Malformed),
                }
            };
            Ok(SocketPacket::Connect { namespace, auth })
        }
        '2'..='6' => Ok(SocketPacket::Other),
        _ => Err(ProtocolError::UnknownType),
    }
}

/// A Socket.IO CONNECT of `namespace` with its optional data object (the client's `auth`, the
/// server's `{"sid"}`); [`decode_socket`] reverses it.
pub fn encode_connect(namespace: &str, data: Option<&Value>) -> String {
    let data = data.map(Value::to_string).unwrap_or_default();
    format!("0{}{data}", namespace_prefix(namespace))
}

/// A Socket.IO DISCONNECT of `namespace`; [`decode_socket`] reverses it.
pub fn encode_disconnect(namespace: &str) -> String {
    format!("1{}", namespace_prefix(namespace))
}

/// `"/admin,{...}"` → `("/admin", "{...}")`; without a leading `/` the namespace is the main one.
fn split_namespace(rest: &str) -> (&str, &str) {
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        }
    } else {
        (MAIN_NAMESPACE, rest)
    }
}

/// `40{"sid":...}` (an Engine.IO message holding the Socket.IO CONNECT answer of the main namespace).
pub fn connect_ok(socket_id: &str) -> String {
    let connect = encode_connect(MAIN_NAMESPACE, Some(&json!({ "sid": socket_id })));
    encode_engine(EngineKind::Message, &connect)
}

/// `44{"message":...,"data":...}`: the client's `connect_error` with `err.message` and `err.data`.
pub fn connect_error(namespace: &str, message: &str, data: Option<Value>) -> String {
    let mut body = json!({ "message": message });
    if let Some(d) = data {
        body["data"] = d;
    }
    format!("44{}{}", namespace_prefix(namespace), body)
}

/// `41`: the server ends the client's socket; the client does not reconnect by itself.
pub fn disconnect(namespace: &str) -> String {
    encode_engine(EngineKind::Message, &encode_disconnect(namespace))
}

/// `42["<name>",<arg>]`: an event on the main namespace with one argument.
pub fn event(name: &str, arg: &Value) -> String {
    format!("42{}", json!([name, arg]))
}

fn namespace_prefix(namespace: &str) -> String {
    if namespace == MAIN_NAMESPACE {
        String::new()
    } else {
        format!("{namespace},")
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_packets_decode_by_their_type_digit() {
        assert_eq!(
            decode_engine("3").unwrap(),
            EnginePacket {
                kind: EngineKind::Pong,
                data: ""
            }
        );
        assert_eq!(
            decode_engine("2probe").unwrap(),
            EnginePacket {
                kind: EngineKind::Ping,
                data: "probe"
            }
        );
        assert_eq!(decode_engine("40").unwrap().kind, EngineKind::Message);
        assert_eq!(decode_engine("40").unwrap().data, "0");
        assert_eq!(decode_engine("5").unwrap().kind, EngineKind::Upgrade);
        assert_eq!(decode_engine("6").unwrap().kind, EngineKind::Noop);
        assert_eq!(decode_engine("1").unwrap().kind, EngineKind::Close);
        assert_eq!(decode_engine(""), Err(ProtocolError::Empty));
        assert_eq!(decode_engine("bAAEC"), Err(ProtocolError::UnknownType));
        assert_eq!(decode_engine("9"), Err(ProtocolError::UnknownType));
        // Multi-byte text after the type is kept whole.
        assert_eq!(decode_engine("4é").unwrap().data, "é");
    }

    #[test]
    fn polling_payloads_are_joined_and_split_by_the_record_separator() {
        let body = join_payload(&["2", "42[\"a\",1]", "6"]);
        assert_eq!(body, "2\x1e42[\"a\",1]\x1e6");
        assert_eq!(
            split_payload(&body).collect::<Vec<_>>(),
            ["2", "42[\"a\",1]", "6"]
        );
        assert_eq!(join_payload::<&str>(&[]), "");
        assert_eq!(split_payload("3").collect::<Vec<_>>(), ["3"]);
    }

    #[test]
    fn the_open_packet_carries_the_handshake() {
        let p = open_packet("abc", &["websocket"], 25_000, 20_000, 65_536);
        assert!(p.starts_with('0'));
        let v: Value = serde_json::from_str(&p[1..]).unwrap();
        assert_eq!(
            v,
            json!({"sid": "abc", "upgrades": ["websocket"], "pingInterval": 25000,
                   "pingTimeout": 20000, "maxPayload": 65536})
        );
        let ws: Value = serde_json::from_str(&open_packet("x", &[], 1, 2, 3)[1..]).unwrap();
        assert_eq!(ws["upgrades"], json!([]));
    }

    #[test]
    fn connect_packets_carry_an_optional_auth_object_and_namespace() {
        assert_eq!(
            decode_socket("0").unwrap(),
            SocketPacket::Connect {
                namespace: "/",
                auth: None
            }
        );
        assert_eq!(
            decode_socket("0{\"token\":\"t\"}").unwrap(),
            SocketPacket::Connect {
                namespace: "/",
                auth: Some(json!({"token": "t"}))
            }
        );
        assert_eq!(
            decode_socket("0/admin,{\"token\":\"t\"}").unwrap(),
            SocketPacket::Connect {
                namespace: "/admin",
                auth: Some(json!({"token": "t"}))
            }
        );
        assert_eq!(
            decode_socket("0/admin").unwrap(),
            SocketPacket::Connect {
                namespace: "/admin",
                auth: None
            }
        );
        assert_eq!(decode_socket("0\"str\""), Err(ProtocolError::Malformed));
        assert_eq!(decode_socket("0{oops"), Err(ProtocolError::Malformed));
        assert_eq!(
            decode_socket("1").unwrap(),
            SocketPacket::Disconnect { namespace: "/" }
        );
        assert_eq!(
            decode_socket("1/admin,").unwrap(),
            SocketPacket::Disconnect {
                namespace: "/admin"
            }
        );
    }

    #[test]
    fn events_acks_and_binary_packets_are_recognised_and_ignored() {
        assert_eq!(
            decode_socket("2[\"hello\",1]").unwrap(),
            SocketPacket::Other
        );
        assert_eq!(decode_socket("312[]").unwrap(), SocketPacket::Other);
        assert_eq!(
            decode_socket("51-[\"x\",{\"_placeholder\":true,\"num\":0}]").unwrap(),
            SocketPacket::Other
        );
        assert_eq!(decode_socket("7"), Err(ProtocolError::UnknownType));
        assert_eq!(decode_socket(""), Err(ProtocolError::Empty));
    }

    #[test]
    fn a_multi_byte_first_character_is_an_unknown_type_not_a_panic() {
        assert_eq!(decode_socket("é"), Err(ProtocolError::UnknownType));
        assert_eq!(decode_socket("€0"), Err(ProtocolError::UnknownType));
        assert_eq!(decode_engine("é4"), Err(ProtocolError::UnknownType));
        // `4é` is an Engine.IO message whose Socket.IO packet starts with `é`.
        let message = decode_engine("4é").unwrap();
        assert_eq!(decode_socket(message.data), Err(ProtocolError::UnknownType));
    }

    #[test]
    fn server_packets_are_encoded_as_the_official_client_expects() {
        assert_eq!(connect_ok("s1"), "40{\"sid\":\"s1\"}");
        assert_eq!(connect_error("/", "nope", None), "44{\"message\":\"nope\"}");
        let with_data = connect_error("/admin", "Invalid namespace", Some(json!({"status": 404})));
        assert!(with_data.starts_with("44/admin,{"));
        let v: Value = serde_json::from_str(&with_data["44/admin,".len()..]).unwrap();
        assert_eq!(
            v,
            json!({"message": "Invalid namespace", "data": {"status": 404}})
        );
        assert_eq!(disconnect("/"), "41");
        assert_eq!(disconnect("/admin"), "41/admin,");
        assert_eq!(
            event(
                "notification::abc",
                &json!({"_id": "n1", "text": "hé \" \u{1e}"})
            ),
            "42[\"notification::abc\",{\"_id\":\"n1\",\"text\":\"hé \\\" \\u001e\"}]"
        );
    }
}
