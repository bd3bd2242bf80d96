//! Whose request it is, for per-IP limits and logs: the connection's peer, or behind a trusted
//! reverse proxy the address that proxy appended to `X-Forwarded-For`; and the key a per-IP
//! limit counts it under.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client's address: the last `X-Forwarded-For` entry when it is trusted and present (the
/// one the proxy in front appended; earlier entries are whatever the client chose to send),
/// else the peer.
///
/// # Errors
/// The entry, when the header is there but its last entry is no address: the proxy in front
/// is not the kind this setting is for, and guessing (the proxy's own address would put every
/// client in one bucket) would be wrong.
pub(crate) fn client_ip(
    forwarded: Option<&[u8]>,
    peer: Option<SocketAddr>,
) -> Result<IpAddr, String> {
    let peer_ip = peer.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    let Some(value) = forwarded else {
        return Ok(peer_ip);
    };
    let text = std::str::from_utf8(value).unwrap_or("");
    // Blanks are HTTP's (spaces and tabs): an ideographic or no-break space is no part of what
    // a proxy writes, so an entry around one is not an address.
    let last = text
        .rsplit(',')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t']);
    parse_entry(last).ok_or_else(|| last.chars().take(64).collect())
}

/// One `X-Forwarded-For` entry in the forms proxies write: `203.0.113.7`, `203.0.113.7:4711`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .parse::<Ipv6Addr>()
        .ok()
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

/// The key a per-IP limit counts `ip` under: an IPv4 address itself, an IPv6 address's
/// network of `v6_prefix` bits. One IPv6 end site gets a /64 or more, so per-address buckets
/// would give a single client 2^64 of them.
pub(crate) fn limit_key(ip: IpAddr, v6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let prefix = u32::from(v6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Option<SocketAddr> {
        Some("10.0.0.2:5000".parse().unwrap())
    }

    #[test]
    fn forwarded_entries_in_their_common_forms() {
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            ("198.51.100.1, 203.0.113.7", "203.0.113.7"),
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            (" x, [2001:db8::1]:4711 ", "2001:db8::1"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ];
        for (header, want) in cases {
            assert_eq!(
                client_ip(Some(header.as_bytes()), peer()),
                Ok(want.parse().unwrap()),
                "{header}"
            );
        }
    }

    #[test]
    fn a_forwarded_entry_that_is_no_address_is_an_error_not_the_peer() {
        for header in [
            "garbage",
            "203.0.113.7, unknown",
            "",
            "[2001:db8::1",
            "1.2.3.4:x",
            // Found by the headers fuzz campaign: a Unicode space was trimmed like a blank.
            "1.2.3.4,\u{3000}[2001:db8::1]:41",
            "\u{a0}203.0.113.7",
        ] {
            assert!(
                client_ip(Some(header.as_bytes()), peer()).is_err(),
                "{header:?}"
            );
        }
        assert_eq!(client_ip(None, peer()), Ok("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_share_a_key_per_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a, 64), limit_key(b, 64));
        assert_ne!(limit_key(a, 64), limit_key(other, 64));
        assert_eq!(limit_key(a, 48), limit_key(other, 48));
        assert_ne!(limit_key(a, 128), limit_key(b, 128));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(limit_key(v4, 64), v4);
    }
}
