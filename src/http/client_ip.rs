//! Who is asking: the client's address behind our trusted proxies, for limits and logs. A leaf of
//! `http/` (no state, no routes), so handlers and the Socket.IO routes can use it without
//! importing the middleware that composes the application.

use std::net::IpAddr;

use ipnet::IpNet;
use poem::Request;

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest untrusted
/// address in `X-Forwarded-For` (read right to left: only our proxies' additions are believed).
pub fn client_ip(req: &Request, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = match req.remote_addr().0 {
        poem::Addr::SocketAddr(a) => a.ip(),
        _ => return None,
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}
