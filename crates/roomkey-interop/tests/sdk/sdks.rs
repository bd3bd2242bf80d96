//! The SDKs: which programs mint and verify with each one.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sdk {
    Node,
    Python,
    Rust,
    Go,
}

impl Sdk {
    /// The SDKs in the committed vectors. Go's tokens are not among them: the vector file (and
    /// roomkey-token's test that reads it) predates the Go helper, and the Go tests here mint
    /// fresh tokens with protocol itself.
    pub(crate) const VECTOR_SDKS: [Sdk; 3] = [Sdk::Node, Sdk::Python, Sdk::Rust];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Sdk::Node => "node",
            Sdk::Python => "python",
            Sdk::Rust => "rust",
            Sdk::Go => "go",
        }
    }

    pub(crate) fn package(self) -> &'static str {
        match self {
            Sdk::Node => NODE_SDK,
            Sdk::Python => PYTHON_SDK,
            Sdk::Rust => RUST_SDK,
            Sdk::Go => GO_REF,
        }
    }

    /// The JOSE header each SDK writes, base64url: Node `{"alg"}` only, Go and Python
    /// `{"alg","typ"}` (sorted keys), Rust `{"typ","alg"}` (jsonwebtoken's struct order).
    pub(crate) fn header(self) -> &'static str {
        match self {
            Sdk::Node => "eyJhbGciOiJIUzI1NiJ9",
            Sdk::Python | Sdk::Go => "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            Sdk::Rust => "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        }
    }

    /// Claim paths (in roomkey's JSON) that the SDK's minting API cannot express, read from the
    /// installed sources: Node's `ClaimGrants`/`VideoGrant` (dist/grants.d.ts), Python's
    /// `access_token.py` builder, Rust's `livekit_token::Claims`/`VideoGrants`, Go's
    /// `auth.ClaimGrants`/`AgentGrant` (auth/grants.go of the pinned protocol, whose AgentGrant
    /// has only `admin` and `simulationAdmin`, and which has no agentEndpoint or agentThread).
    /// Only Go writes `iat` and the `identity` copy of `sub` (auth/accesstoken.go), as roomkey
    /// does.
    pub(crate) fn cannot_mint(self) -> &'static [&'static str] {
        match self {
            Sdk::Node => &["kindDetails", "agent", "agentEndpoint", "agentThread"],
            Sdk::Python => &["kindDetails"],
            Sdk::Rust => &[
                "kindDetails",
                "roomPreset",
                "video.canSubscribeMetrics",
                "video.canManageAgentSession",
            ],
            Sdk::Go => &[
                "agent.databaseAdmin",
                "agent.dispatchAdmin",
                "agentEndpoint",
                "agentThread",
            ],
        }
    }

    /// Meaning keys (see [`server_meaning`]) that the SDK's verifier does not return.
    /// Node's verifier returns the raw payload, so it models everything. Go's `ClaimGrants`
    /// has no field for what it cannot mint, so `Verify` drops those claims.
    pub(crate) fn cannot_decode(self) -> &'static [&'static str] {
        match self {
            Sdk::Node => &[],
            // Each decodes into the same Claims type it mints from.
            Sdk::Python | Sdk::Rust => self.cannot_mint(),
            Sdk::Go => &[
                "agent.databaseAdmin",
                "agent.dispatchAdmin",
                "agentEndpoint.call",
                "agentEndpoint.agentName",
                "agentEndpoint.deployment",
                "agentThread.all",
                "agentThread.scope",
                "agentThread.threadIds",
                "agentThread.list",
                "agentThread.create",
                "agentThread.write",
                "agentThread.read",
                "agentThread.delete",
            ],
        }
    }
}
