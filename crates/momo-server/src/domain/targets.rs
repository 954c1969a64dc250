//! Where callbacks may go: the callback target policy (docs/callbacks.md, "Where callbacks may go").
//!
//! A callback is a signed request the server makes on behalf of whoever holds a subscription key,
//! so its target is checked against this policy: at registration for what a host alone tells
//! (an IP literal, a cloud-metadata name), and on every delivery attempt for every address a
//! name resolves to, so that a name re-pointed after registration (DNS rebinding) gains nothing.
//!
//! - Link-local and cloud-metadata addresses, and addresses that are not unicast (unspecified,
//!   broadcast, multicast, reserved), are always refused.
//! - Loopback addresses are allowed when the server itself listens on loopback (local development),
//!   or when allowed explicitly.
//! - Private addresses (RFC 1918, carrier-grade NAT, unique-local IPv6) are allowed only explicitly:
//!   all of them (`--callback-allow-private`), or those an allow-list entry covers.
//! - Everything else (public addresses) is allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// Names of cloud metadata services: refused whatever they resolve to.
const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
];

/// Addresses of cloud metadata services outside the link-local block, which is refused anyway:
/// AWS's IPv6 instance metadata, Alibaba Cloud's metadata and Azure's WireServer.
const METADATA_ADDRESSES: &[IpAddr] = &[
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
];

/// What an address is, as far as callbacks are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    Metadata,
    /// Unspecified, broadcast, multicast or reserved: never a receiver.
    NotUnicast,
}

/// Classify an address (IPv4-mapped and NAT64 IPv6 addresses as the IPv4 address they carry).
pub fn classify(ip: IpAddr) -> AddressClass {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // 64:ff9b::/96, the well-known NAT64 prefix: a gateway forwards it to the IPv4 address.
            // ::a.b.c.d, the deprecated IPv4-compatible form (not :: and ::1 themselves).
            let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || compatible {
                let [_, _, _, _, _, _, _, _, _, _, _, _, a, b, c, d] = v6.octets();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            v6.to_canonical()
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    if METADATA_ADDRESSES.contains(&IpAddr::V4(ip)) {
        AddressClass::Metadata
    } else if a == 0 || a >= 224 {
        // 0/8 ("this network"), multicast 224/4, reserved 240/4 and the broadcast address.
        AddressClass::NotUnicast
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_private()
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (18..20).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
    {
        // RFC 1918; 100.64/10 (carrier-grade NAT, also where some clouds put services); and the
        // special-purpose blocks never routed on the internet: 198.18/15 (benchmarking) and
        // 192.0.0/24 (protocol assignments).
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let first = ip.segments()[0];
    if METADATA_ADDRESSES.contains(&IpAddr::V6(ip)) {
        AddressClass::Metadata
    } else if ip.is_unspecified() || ip.is_multicast() {
        AddressClass::NotUnicast
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if first & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // Unique-local fc00::/7, and the deprecated site-local fec0::/10.
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// One entry of the allow-list (`--callback-allow`): a host name, an address or a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedTarget {
    /// A host name (lowercase): whatever it resolves to is allowed, except what is always refused.
    Host(String),
    /// Addresses in this block are allowed, except what is always refused.
    Net(IpNet),
}

impl FromStr for AllowedTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bare = s.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(s);
        if let Ok(net) = bare.parse::<IpNet>() {
            return Ok(AllowedTarget::Net(net.trunc()));
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(AllowedTarget::Net(IpNet::from(ip)));
        }
        let name = s.trim_end_matches('.').to_ascii_lowercase();
        if crate::domain::hosts::is_host_name(&name) {
            Ok(AllowedTarget::Host(name))
        } else {
            Err(format!("{s:?} is neither a host name, an IP address nor a CIDR block (such as 10.0.0.0/8)"))
        }
    }
}

impl std::fmt::Display for AllowedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowedTarget::Host(name) => f.write_str(name),
            AllowedTarget::Net(net) => write!(f, "{net}"),
        }
    }
}

/// The callback target policy of one server.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Loopback targets are allowed (the server listens on loopback).
    pub allow_loopback: bool,
    /// Every private address is allowed (`--callback-allow-private`).
    pub allow_private: bool,
    /// Hosts and blocks allowed even if loopback or private (`--callback-allow`).
    pub allow: Vec<AllowedTarget>,
}

impl TargetPolicy {
    /// Whether a callback may be sent to `ip`, which `host` (a name, or the address itself)
    /// stands for; if not, why, for the attempt log or a 400.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        let allow_listed = || {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            self.allow.iter().any(|entry| match entry {
                AllowedTarget::Host(allowed) => *allowed == name,
                AllowedTarget::Net(net) => net.contains(&ip) || net.contains(&canonical(ip)),
            })
        };
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Metadata => Err(format!("{ip} is a cloud metadata address: callbacks are never sent there")),
            AddressClass::LinkLocal => Err(format!("{ip} is a link-local address: callbacks are never sent there")),
            AddressClass::NotUnicast => Err(format!("{ip} is not a unicast address: callbacks cannot be sent there")),
            AddressClass::Loopback if self.allow_loopback || allow_listed() => Ok(()),
            AddressClass::Private if self.allow_private || allow_listed() => Ok(()),
            AddressClass::Loopback => Err(format!(
                "{ip} is a loopback address: allowed only when the server listens on loopback, or with --callback-allow"
            )),
            AddressClass::Private => Err(format!(
                "{ip} is a private address: allowed only with --callback-allow-private or --callback-allow"
            )),
        }
    }

    /// What can be decided from a host alone, before any name is resolved (at registration):
    /// an IP literal is checked as an address, a cloud-metadata name is refused, any other name
    /// is left to the check of the addresses it resolves to when a callback is sent.
    pub fn check_host<S: AsRef<str>>(&self, host: &url::Host<S>) -> Result<(), String> {
        match host {
            url::Host::Ipv4(ip) => self.check_address(&ip.to_string(), IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => self.check_address(&ip.to_string(), IpAddr::V6(*ip)),
            url::Host::Domain(name) => {
                let name = name.as_ref().trim_end_matches('.').to_ascii_lowercase();
                if METADATA_NAMES.contains(&name.as_str()) {
                    Err(format!("{name} is a cloud metadata service: callbacks are never sent there"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The addresses `host` resolved to that may receive callbacks; an error naming why if none.
    pub fn filter(&self, host: &str, resolved: Vec<std::net::SocketAddr>) -> Result<Vec<std::net::SocketAddr>, String> {
        self.check_host(&url::Host::Domain(host))?;
        let mut refusal = None;
        let allowed: Vec<_> = resolved
            .into_iter()
            .filter(|addr| match self.check_address(host, addr.ip()) {
                Ok(()) => true,
                Err(why) => {
                    refusal.get_or_insert(why);
                    false
                }
            })
            .collect();
        match refusal {
            Some(why) if allowed.is_empty() => Err(format!("{host} resolves only to refused addresses ({why})")),
            _ => Ok(allowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        let cases = [
            ("8.8.8.8", AddressClass::Public),
            ("2606:4700::1111", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.9.9.9", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::127.0.0.1", AddressClass::Loopback),
            ("::a9fe:a9fe", AddressClass::LinkLocal),
            ("198.18.0.1", AddressClass::Private),
            ("198.19.255.255", AddressClass::Private),
            ("192.0.0.170", AddressClass::Private),
            ("198.20.0.1", AddressClass::Public),
            ("10.0.0.1", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("fd12:3456::1", AddressClass::Private),
            ("fc00::1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
            ("fd00:ec2::254", AddressClass::Metadata),
            ("100.100.100.200", AddressClass::Metadata),
            ("168.63.129.16", AddressClass::Metadata),
            ("0.0.0.0", AddressClass::NotUnicast),
            ("::", AddressClass::NotUnicast),
            ("255.255.255.255", AddressClass::NotUnicast),
            ("224.0.0.1", AddressClass::NotUnicast),
            ("240.0.0.1", AddressClass::NotUnicast),
            ("ff02::1", AddressClass::NotUnicast),
            ("172.32.0.1", AddressClass::Public),
        ];
        for (address, class) in cases {
            assert_eq!(classify(ip(address)), class, "{address}");
        }
    }

    #[test]
    fn metadata_and_link_local_are_refused_even_when_everything_else_is_allowed() {
        let open = TargetPolicy {
            allow_loopback: true,
            allow_private: true,
            allow: vec![
                "0.0.0.0/0".parse().unwrap(),
                "::/0".parse().unwrap(),
                "metadata.google.internal".parse().unwrap(),
            ],
        };
        for address in ["169.254.169.254", "fe80::1", "fd00:ec2::254", "100.100.100.200", "0.0.0.0", "224.0.0.1"] {
            assert!(open.check_address(address, ip(address)).is_err(), "{address}");
        }
        assert!(open.check_host(&url::Host::Domain("metadata.google.internal")).is_err());
        assert!(open.check_host(&url::Host::Domain("METADATA.google.internal.")).is_err());
        assert!(open.filter("metadata.google.internal", vec!["8.8.8.8:80".parse().unwrap()]).is_err());
    }

    #[test]
    fn loopback_needs_a_loopback_listener_or_an_allow_list_entry() {
        let public = TargetPolicy::default();
        assert!(public.check_address("127.0.0.1", ip("127.0.0.1")).unwrap_err().contains("loopback"));
        assert!(public.check_address("localhost", ip("::1")).is_err());
        let local = TargetPolicy { allow_loopback: true, ..TargetPolicy::default() };
        assert!(local.check_address("localhost", ip("127.0.0.1")).is_ok());
        assert!(local.check_address("10.0.0.1", ip("10.0.0.1")).is_err(), "loopback is not private");
        let listed = TargetPolicy { allow: vec!["localhost".parse().unwrap()], ..TargetPolicy::default() };
        assert!(listed.check_address("LOCALHOST", ip("127.0.0.1")).is_ok());
        assert!(listed.check_address("127.0.0.1", ip("127.0.0.1")).is_err(), "the name, not the address, is listed");
    }

    #[test]
    fn private_addresses_need_the_flag_or_an_allow_list_entry() {
        let default = TargetPolicy { allow_loopback: true, ..TargetPolicy::default() };
        assert!(default.check_address("10.0.0.1", ip("10.0.0.1")).unwrap_err().contains("private"));
        let all = TargetPolicy { allow_private: true, ..TargetPolicy::default() };
        assert!(all.check_address("10.0.0.1", ip("10.0.0.1")).is_ok());
        assert!(all.check_address("127.0.0.1", ip("127.0.0.1")).is_err(), "private is not loopback");
        let block = TargetPolicy { allow: vec!["10.1.0.0/16".parse().unwrap()], ..TargetPolicy::default() };
        assert!(block.check_address("10.1.2.3", ip("10.1.2.3")).is_ok());
        assert!(block.check_address("10.2.0.1", ip("10.2.0.1")).is_err());
        assert!(block.check_address("::ffff:10.1.2.3", ip("::ffff:10.1.2.3")).is_ok());
        let host = TargetPolicy { allow: vec!["receiver.internal".parse().unwrap()], ..TargetPolicy::default() };
        assert_eq!(
            host.filter("receiver.internal", vec!["10.9.9.9:443".parse().unwrap()]),
            Ok(vec!["10.9.9.9:443".parse().unwrap()])
        );
        assert!(host.filter("other.internal", vec!["10.9.9.9:443".parse().unwrap()]).is_err());
    }

    #[test]
    fn resolved_addresses_are_filtered_and_a_name_with_none_left_is_refused() {
        let policy = TargetPolicy::default();
        let mixed = vec!["10.0.0.1:80".parse().unwrap(), "93.184.216.34:80".parse().unwrap()];
        assert_eq!(policy.filter("shop.example", mixed), Ok(vec!["93.184.216.34:80".parse().unwrap()]));
        let why = policy.filter("rebound.example", vec!["169.254.169.254:80".parse().unwrap()]).unwrap_err();
        assert!(
            why.starts_with("rebound.example resolves only to refused addresses (169.254.169.254 is a link-local"),
            "{why}"
        );
    }

    #[test]
    fn allow_list_entries_parse() {
        assert_eq!("10.0.0.0/8".parse(), Ok(AllowedTarget::Net("10.0.0.0/8".parse().unwrap())));
        assert_eq!("10.1.2.3/8".parse(), Ok(AllowedTarget::Net("10.0.0.0/8".parse().unwrap())));
        assert_eq!("192.168.1.5".parse(), Ok(AllowedTarget::Net("192.168.1.5/32".parse().unwrap())));
        assert_eq!("[fd00::1]".parse(), Ok(AllowedTarget::Net("fd00::1/128".parse().unwrap())));
        assert_eq!("Receiver.Internal.".parse(), Ok(AllowedTarget::Host("receiver.internal".into())));
        for bad in ["", "http://x", "a b", "10.0.0.0/33", "-x.example"] {
            assert!(bad.parse::<AllowedTarget>().is_err(), "{bad:?}");
        }
    }
}
