//! The network namespace the real-server tests run in.
//!
//! The LiveKit server and the WebRTC clients that join it would, misconfigured, contact public
//! STUN servers. So they run only inside a network namespace of the tests' own, made by
//! `interop/netns` (what `scripts/test` wraps the test run in): `lo` plus a veth pair whose two
//! ends are both inside it. WebRTC clients ignore loopback interfaces when they gather
//! candidates, so they need the veth; both of its ends stay inside the namespace, so no packet
//! can leave the machine whatever a component tries.

use std::net::Ipv4Addr;

/// The veth end the LiveKit server advertises (`rtc.node_ip`).
pub const SERVER_VETH: &str = "rk0";
/// The other end, where clients find a non-loopback interface to gather on.
pub const CLIENT_VETH: &str = "rk1";

/// The namespace `interop/netns` made, checked.
#[derive(Debug, Clone, Copy)]
pub struct TestNetwork {
    /// Address of [`SERVER_VETH`].
    pub server_addr: Ipv4Addr,
    /// Address of [`CLIENT_VETH`].
    pub client_addr: Ipv4Addr,
}

/// Checks that this process runs in a network namespace other than the machine's, with the veth
/// pair `interop/netns` sets up, and returns its addresses. Panics, saying how to run the
/// tests, when it does not: nothing that could reach the outside starts then.
pub fn require_test_network() -> TestNetwork {
    let how = "run the tests inside the network namespace of `interop/netns`: \
               `bash interop/netns cargo test -p roomkey-interop` (scripts/test does this)";
    let own = std::fs::read_link("/proc/self/ns/net").expect("read /proc/self/ns/net");
    // Without a PID namespace remount, /proc/1 is the machine's init, in the machine's namespace.
    let machine = std::fs::read_link("/proc/1/ns/net").ok();
    assert!(
        machine.as_ref() != Some(&own),
        "this test starts the LiveKit server or a WebRTC client, which must not run in the \
         machine's own network namespace; {how}"
    );
    let devices = std::fs::read_to_string("/proc/self/net/dev").expect("read /proc/self/net/dev");
    let up: Vec<&str> = devices
        .lines()
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim()))
        .collect();
    for dev in [SERVER_VETH, CLIENT_VETH] {
        assert!(
            up.contains(&dev),
            "the network namespace has no {dev} (interfaces: {up:?}); {how}"
        );
    }
    let addr = |var: &str| -> Ipv4Addr {
        std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} is not set; {how}"))
            .parse()
            .unwrap_or_else(|e| panic!("{var}: {e}"))
    };
    TestNetwork {
        server_addr: addr("ROOMKEY_NETNS_SERVER_ADDR"),
        client_addr: addr("ROOMKEY_NETNS_CLIENT_ADDR"),
    }
}
