//! Property tests of the decoders: no text a client can send panics them, and what the encoders
//! produce they read back unchanged.

mod never_panics {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any text a client can send: decoding answers a packet or an error, never a panic.
        #[test]
        fn the_decoders_never_panic(text in "\\PC*") {
            if let Ok(p) = decode_engine(&text) {
                let _ = decode_socket(p.data);
            }
            let _ = decode_socket(&text);
            for packet in split_payload(&text) {
                let _ = decode_engine(packet);
            }
        }

        /// Text shaped like our packets (a type digit, a namespace, JSON-ish data, multi-byte
        /// characters anywhere) reaches the deeper branches.
        #[test]
        fn packet_shaped_text_never_panics(
            digit in "[0-9é€😀]?",
            namespace in "(/[a-zé]{0,4},?)?",
            data in "[{}\\[\\]\"a-z:0-9,é😀\u{1e}]{0,24}",
        ) {
            let socket = format!("{digit}{namespace}{data}");
            let _ = decode_socket(&socket);
            let engine = format!("4{socket}");
            if let Ok(p) = decode_engine(&engine) {
                let _ = decode_socket(p.data);
            }
        }
    }
}

/// What the encoders produce, the decoders read back unchanged.
mod round_trip {
    use super::super::*;
    use proptest::prelude::*;

    fn engine_kind() -> impl Strategy<Value = EngineKind> {
        prop_oneof![
            Just(EngineKind::Open),
            Just(EngineKind::Close),
            Just(EngineKind::Ping),
            Just(EngineKind::Pong),
            Just(EngineKind::Message),
            Just(EngineKind::Upgrade),
            Just(EngineKind::Noop),
        ]
    }

    /// A namespace as clients name them: `/`, then no comma (the separator of its data).
    fn namespace() -> impl Strategy<Value = String> {
        "/[^,]{0,12}"
    }

    /// A data object: the client's `auth`, or the server's `{"sid"}`.
    fn object() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,16}".prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map("\\PC{0,6}", value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn engine_packets(kind in engine_kind(), data in "\\PC*") {
            let text = encode_engine(kind, &data);
            prop_assert_eq!(decode_engine(&text), Ok(EnginePacket { kind, data: &data }));
        }

        #[test]
        fn connect_packets(namespace in namespace(), auth in proptest::option::of(object())) {
            let text = encode_connect(&namespace, auth.as_ref());
            prop_assert_eq!(
                decode_socket(&text),
                Ok(SocketPacket::Connect { namespace: &namespace, auth: auth.clone() })
            );
            // Inside an Engine.IO message, as it travels.
            let message = encode_engine(EngineKind::Message, &text);
            let outer = decode_engine(&message).unwrap();
            prop_assert_eq!(outer.kind, EngineKind::Message);
            prop_assert_eq!(
                decode_socket(outer.data),
                Ok(SocketPacket::Connect { namespace: &namespace, auth })
            );
        }

        #[test]
        fn disconnect_packets(namespace in namespace()) {
            let text = encode_disconnect(&namespace);
            prop_assert_eq!(
                decode_socket(&text),
                Ok(SocketPacket::Disconnect { namespace: &namespace })
            );
        }

        #[test]
        fn polling_payloads(packets in prop::collection::vec("[^\\x1e]*", 1..6)) {
            let body = join_payload(&packets);
            prop_assert_eq!(split_payload(&body).collect::<Vec<_>>(), packets);
        }

        /// Every packet the server sends is one the decoders accept.
        #[test]
        fn server_packets(id in "\\PC{0,24}", name in "\\PC{0,24}", n in any::<i64>()) {
            for text in [connect_ok(&id), disconnect(MAIN_NAMESPACE), event(&name, &Value::from(n))] {
                let outer = decode_engine(&text).unwrap();
                prop_assert_eq!(outer.kind, EngineKind::Message);
                prop_assert!(decode_socket(outer.data).is_ok(), "{}", text);
            }
            let text = connect_ok(&id);
            let ok = decode_engine(&text).unwrap();
            prop_assert_eq!(
                decode_socket(ok.data),
                Ok(SocketPacket::Connect {
                    namespace: MAIN_NAMESPACE,
                    auth: Some(json!({ "sid": id })),
                })
            );
        }
    }
}
