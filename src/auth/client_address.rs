//! The address of the client a request comes from: the one function every audit event and every
//! per-address limit asks ([`client_address`]).
//!
//! It is the TCP peer's address, unless the peer is one of the configured trusted proxies
//! (`--trusted-proxies` / `LATCHKEY_TRUSTED_PROXIES`, none by default). Only then are the
//! forwarding headers read: `X-Forwarded-For`, or `Forwarded` (RFC 7239) when the request carries no
//! `X-Forwarded-For`. Their addresses are walked right to left (the nearest hop first), skipping
//! trusted proxies; the first address that is not a trusted proxy is the client. Everything left of
//! it was written by the client (or a hop it controls) and is ignored, so a client cannot choose its
//! own address by sending the header itself. An entry that is not an address (`unknown`, an
//! obfuscated `_hidden`, garbage) ends the walk at the last trusted hop, which is then the client.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::HttpRequest;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed (set once at start, from the settings).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|range| range.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A `--trusted-proxies` entry: a CIDR range (`10.0.0.0/8`, `fd00::/8`) or one address (`10.0.0.7`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .map(|net| net.trunc())
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map_err(|_| format!("not an IP address or CIDR range: {text:?}"))
}

/// The client's address (see the module documentation): the peer's, or, when the peer is a trusted
/// proxy, the nearest untrusted address its forwarding headers name.
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|addr| addr.ip());
    match req.app_data::<TrustedProxies>() {
        Some(trusted) if !trusted.is_empty() => resolve(peer, req.headers(), trusted),
        _ => peer.map(|ip| ip.to_canonical()),
    }
}

/// [`client_address`] on its parts.
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    if !trusted.contains(client) {
        return Some(client);
    }
    let hops = forwarded_hops(headers);
    for hop in hops.iter().rev() {
        let Some(ip) = hop else {
            // Not an address: nothing left of it can be attributed; the last trusted hop is the client.
            return Some(client);
        };
        client = ip.to_canonical();
        if !trusted.contains(client) {
            return Some(client);
        }
    }
    // Every hop is a trusted proxy (a health check from inside, say): the farthest one.
    Some(client)
}

/// The hop addresses the forwarding headers list, leftmost (farthest) first; `None` for an entry
/// that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let x_forwarded_for = HeaderName::from_static("x-forwarded-for");
    if headers.contains_key(&x_forwarded_for) {
        return header_values(headers, &x_forwarded_for)
            .flat_map(|value| value.split(',').map(parse_node).collect::<Vec<_>>())
            .collect();
    }
    header_values(headers, &actix_web::http::header::FORWARDED)
        .flat_map(|value| forwarded_for_nodes(&value))
        .collect()
}

/// Every value of a header, in order; a value that is not visible ASCII counts as one bad entry.
fn header_values<'a>(
    headers: &'a HeaderMap,
    name: &'a HeaderName,
) -> impl Iterator<Item = String> + 'a {
    headers
        .get_all(name)
        .map(|value| value.to_str().unwrap_or("\u{0}").to_string())
}

/// The `for=` node of each element of an RFC 7239 `Forwarded` value (`for=192.0.2.60;proto=http,
/// for="[2001:db8::17]:4711"`); an element without one is an unknown hop.
fn forwarded_for_nodes(value: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(value, ',')
        .into_iter()
        .map(|element| {
            split_outside_quotes(element, ';')
                .into_iter()
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, node)| parse_node(&unquote(node.trim())))
        })
        .collect()
}

/// Splits on `separator` where it is not inside a quoted string (which may escape with `\`).
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(text: &str) -> String {
    match text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            out
        }
        None => text.to_string(),
    }
}

/// One node: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17`, `[2001:db8::17]`, `[2001:db8::17]:4711`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(ip);
    }
    if let Ok(addr) = SocketAddr::from_str(text) {
        return Some(addr.ip());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            ranges
                .iter()
                .map(|r| parse_trusted_proxy(r).expect("a range"))
                .collect(),
        )
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_client_address() {
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(
            resolve(ip("198.51.100.4"), &spoofed, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
        assert_eq!(
            resolve(ip("198.51.100.4"), &spoofed, &TrustedProxies::default()),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn x_forwarded_for_is_read_right_to_left_skipping_trusted_hops() {
        // The client wrote "1.1.1.1" itself; nginx appended the address it saw, then an inner proxy.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.4, 10.0.0.2")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &chain, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
        // Several header lines count as one list, in order.
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &split, &trusted(&["10.0.0.1"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        assert_eq!(
            resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.1")
        );
        // Only trusted hops: the farthest of them.
        let inside = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.2")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &inside, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_ends_the_walk_at_the_last_trusted_hop() {
        let garbage = headers(&[("x-forwarded-for", "198.51.100.4, nonsense, 10.0.0.2")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &garbage, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.2")
        );
        let unknown = headers(&[("forwarded", "for=198.51.100.4, for=unknown")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &unknown, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_accepts_quotes_ports_ipv6_and_other_parameters() {
        let value = headers(&[(
            "forwarded",
            "for=192.0.2.43;proto=https, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &value, &trusted(&["10.0.0.0/8"])),
            ip("2001:db8:cafe::17")
        );
        let with_port = headers(&[("forwarded", "proto=http;For=\"192.0.2.60:8080\"")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &with_port, &trusted(&["10.0.0.0/8"])),
            ip("192.0.2.60")
        );
        // A quoted comma does not split elements.
        let quoted = headers(&[(
            "forwarded",
            "for=192.0.2.1;host=\"a,b\", for=\"[2001:db8::1]\"",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &quoted, &trusted(&["10.0.0.0/8"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            forwarded_for_nodes("for=192.0.2.1;host=\"a,b\", for=_hidden"),
            vec![ip("192.0.2.1"), None]
        );
    }

    #[test]
    fn x_forwarded_for_wins_over_forwarded() {
        // nginx appends to X-Forwarded-For and passes a client's own `Forwarded` through untouched.
        let both = headers(&[
            ("forwarded", "for=1.1.1.1"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &both, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let chain = headers(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.1"), &chain, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn trusted_proxies_are_ranges_or_single_addresses() {
        assert!(parse_trusted_proxy("10.0.0.0/8").is_ok());
        assert!(parse_trusted_proxy(" fd00::/8").is_ok());
        assert_eq!(
            parse_trusted_proxy("127.0.0.1").map(|n| n.to_string()),
            Ok("127.0.0.1/32".to_string())
        );
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.internal").is_err());
    }
}
