#!/usr/bin/env bash
# Regenerates crates/roomkey-token/tests/data/sdk_vectors.json: tokens minted by the pinned
# official SDKs (Node livekit-server-sdk, Python livekit-api, Rust livekit-api) for the specs
# listed in crates/roomkey-interop/tests/sdk/main.rs (VECTOR_SPECS), at fixed times (nbf 1700000000,
# exp 4102444800), each with the claims roomkey must decode. Every token is checked in roomkey
# before it is written. Without ROOMKEY_REGEN_VECTORS the same test only compares.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/interop/setup.sh"
cd "$root"
echo "interop/gen-vectors.sh: minting vectors (cargo test -p roomkey-interop --test sdk committed_vectors)" >&2
ROOMKEY_REGEN_VECTORS=1 cargo test -p roomkey-interop --test sdk committed_vectors -- --nocapture
echo "interop/gen-vectors.sh: done; review with: git diff --stat crates/roomkey-token/tests/data/sdk_vectors.json" >&2
