//! Where roomkey's mint and verify time goes: each step of `roomkey-token`'s hot paths, redone
//! here with the same library calls on the typical join token (roomkey-token's internals are
//! private), plus the cheaper alternative the profile suggests for some of them.
//!
//! Not part of `scripts/bench`; run it with
//! `ROOMKEY_BENCH_CLOCK=cpu cargo bench -p roomkey-bench --bench parts`. BENCHMARKS.md has the
//! numbers and what they mean.

use std::hint::black_box;
use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use criterion::measurement::Measurement;
use hmac::Mac as _;
use roomkey_bench::{API_KEY, floor, roomkey, unix_now};
use roomkey_token::{Claims, KeySet};

#[path = "support/clock.rs"]
mod clock;

/// `{"alg":"HS256","typ":"JWT"}`, as roomkey writes it.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// token.rs `payload_at`, verbatim but for taking the claims as an argument.
fn payload_at(claims: &Claims, api_key: &str, now: i64, exp: i64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + claims.metadata.len());
    buf.extend_from_slice(b"{\"iss\":");
    serde_json::to_writer(&mut buf, api_key).expect("string serializes");
    write!(buf, ",\"exp\":{exp},\"nbf\":{now},\"iat\":{now}").expect("Vec write");
    let mark = buf.len();
    serde_json::to_writer(&mut buf, claims).expect("claims serialize");
    if buf.len() == mark + 2 {
        buf.truncate(mark);
        buf.push(b'}');
    } else {
        buf[mark] = b',';
    }
    buf
}

/// jws.rs `sign`'s encoding: header, then `encode_string` (base64's chunked encoder).
fn encode_with_encode_string(payload: &[u8]) -> String {
    let mut out = String::with_capacity(HEADER_B64.len() + payload.len() * 4 / 3 + 4 + 1 + 43);
    out.push_str(HEADER_B64);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    out
}

/// The alternative: exact length, `encode_slice` into the buffer in place, one UTF-8 check.
fn encode_in_place(payload: &[u8]) -> String {
    let b64_len = base64::encoded_len(payload.len(), false).expect("small");
    let mut out = Vec::with_capacity(HEADER_B64.len() + 1 + b64_len + 1 + 43);
    out.extend_from_slice(HEADER_B64.as_bytes());
    out.push(b'.');
    let start = out.len();
    out.resize(start + b64_len, 0);
    URL_SAFE_NO_PAD
        .encode_slice(payload, &mut out[start..])
        .expect("sized exactly");
    String::from_utf8(out).expect("base64 is ASCII")
}

fn mint_parts<M: Measurement>(c: &mut Criterion<M>) {
    let key = roomkey::key();
    let mac = floor::key();
    let builder = roomkey::builder();
    let now = unix_now();
    let exp = now + 6 * 3600;
    let claims = builder.claims().clone();
    let payload = payload_at(&claims, API_KEY, now, exp);
    let signing_input = encode_with_encode_string(&payload);
    assert_eq!(encode_in_place(&payload), signing_input);
    let token = builder.sign_at(&key, now).expect("valid");
    assert!(token.starts_with(&signing_input));
    assert_eq!(
        &token[..signing_input.len() + 1],
        format!("{signing_input}.")
    );

    let mut g = c.benchmark_group("mint-parts");
    g.bench_function("whole mint (builder per call)", |b| {
        b.iter(|| roomkey::mint(black_box(&key)));
    });
    g.bench_function("sign_at (builder reused)", |b| {
        b.iter(|| black_box(&builder).sign_at(black_box(&key), black_box(now)));
    });
    g.bench_function("builder: build + drop", |b| b.iter(roomkey::builder));
    g.bench_function("validate", |b| b.iter(|| black_box(&builder).validate()));
    g.bench_function("payload_at: claims JSON", |b| {
        b.iter(|| payload_at(black_box(&claims), API_KEY, black_box(now), black_box(exp)));
    });
    g.bench_function("payload_at: the 3 times via write!", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(64);
            let now = black_box(now);
            write!(
                buf,
                ",\"exp\":{},\"nbf\":{now},\"iat\":{now}",
                black_box(exp)
            )
            .expect("Vec");
            buf
        });
    });
    g.bench_function("payload_at: the 3 times via itoa (serde_json)", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(64);
            buf.extend_from_slice(b",\"exp\":");
            serde_json::to_writer(&mut buf, &black_box(exp)).expect("Vec");
            buf.extend_from_slice(b",\"nbf\":");
            serde_json::to_writer(&mut buf, &black_box(now)).expect("Vec");
            buf.extend_from_slice(b",\"iat\":");
            serde_json::to_writer(&mut buf, &black_box(now)).expect("Vec");
            buf
        });
    });
    g.bench_function("payload_at: serde_json::to_writer(claims) only", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(256);
            serde_json::to_writer(&mut buf, black_box(&claims)).expect("claims serialize");
            buf
        });
    });
    g.bench_function("sign: header + base64 via encode_string", |b| {
        b.iter(|| encode_with_encode_string(black_box(&payload)));
    });
    g.bench_function("sign: header + base64 via encode_slice in place", |b| {
        b.iter(|| encode_in_place(black_box(&payload)));
    });
    g.bench_function("sign: base64 of the payload via base64-simd", |b| {
        b.iter(|| base64_simd::URL_SAFE_NO_PAD.encode_to_string(black_box(&payload)));
    });
    g.bench_function("sign: HMAC-SHA256 tag (7 compressions)", |b| {
        b.iter(|| {
            let mut m = black_box(&mac).clone();
            m.update(black_box(signing_input.as_bytes()));
            m.finalize().into_bytes()
        });
    });
    g.bench_function("sign: base64 of the tag", |b| {
        let tag = [7u8; 32];
        b.iter(|| {
            let mut s = String::with_capacity(44);
            URL_SAFE_NO_PAD.encode_string(black_box(tag), &mut s);
            s
        });
    });
    g.finish();
}

fn verify_parts<M: Measurement>(c: &mut Criterion<M>) {
    let token = roomkey::mint(&roomkey::key());
    let verifier = roomkey::verifier();
    let keys = KeySet::single(roomkey::key());
    let mac = floor::key();
    let (signing_input, signature) = token.rsplit_once('.').expect("3 parts");
    let (_, payload_b64) = signing_input.split_once('.').expect("3 parts");
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).expect("base64");
    let mut tag = [0u8; 35];
    let n = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut tag)
        .expect("base64");
    let iss = API_KEY.to_owned();

    let mut g = c.benchmark_group("verify-parts");
    g.bench_function("whole verify", |b| {
        b.iter(|| roomkey::verify(black_box(&verifier), black_box(&token)).expect("valid"));
    });
    g.bench_function("decode: find the dots via match_indices", |b| {
        b.iter(|| {
            let token = black_box(token.as_str());
            let mut dots = token.match_indices('.').map(|(i, _)| i);
            (dots.next(), dots.next(), dots.next())
        });
    });
    g.bench_function("decode: find the dots via memchr (find/rfind)", |b| {
        b.iter(|| {
            let token = black_box(token.as_bytes());
            let first = token.iter().position(|&b| b == b'.');
            let last = token.iter().rposition(|&b| b == b'.');
            let more = match (first, last) {
                (Some(f), Some(l)) if l > f => token[f + 1..l].contains(&b'.'),
                _ => true,
            };
            (first, last, more)
        });
    });
    g.bench_function("decode: base64 of the payload", |b| {
        b.iter(|| {
            URL_SAFE_NO_PAD
                .decode(black_box(payload_b64))
                .expect("base64")
        });
    });
    g.bench_function("decode: base64 of the payload via base64-simd", |b| {
        b.iter(|| {
            base64_simd::URL_SAFE_NO_PAD
                .decode_to_vec(black_box(payload_b64))
                .expect("base64")
        });
    });
    g.bench_function("decode: base64 of the tag", |b| {
        b.iter(|| {
            let mut buf = [0u8; 35];
            URL_SAFE_NO_PAD
                .decode_slice(black_box(signature), &mut buf)
                .expect("base64");
            buf
        });
    });
    g.bench_function("parse_claims: serde_json into Claims (+ drop)", |b| {
        b.iter(|| serde_json::from_slice::<Claims>(black_box(&payload)).expect("json"));
    });
    let payload_str = String::from_utf8(payload.clone()).expect("UTF-8");
    g.bench_function(
        "parse_claims: from_utf8, then serde_json::from_str into Claims",
        |b| {
            b.iter(|| {
                let s = std::str::from_utf8(black_box(payload_str.as_bytes())).expect("UTF-8");
                serde_json::from_str::<Claims>(s).expect("json")
            });
        },
    );
    g.bench_function(
        "parse_claims: serde_json into an 8-field struct (+ drop)",
        |b| {
            b.iter(|| serde_json::from_slice::<floor::Claims>(black_box(&payload)).expect("json"));
        },
    );
    g.bench_function(
        "parse_claims: from_utf8, then serde_json::from_str into an 8-field struct",
        |b| {
            b.iter(|| {
                let s = std::str::from_utf8(black_box(payload_str.as_bytes())).expect("UTF-8");
                serde_json::from_str::<floor::Claims>(s).expect("json")
            });
        },
    );
    g.bench_function("KeySet::get (SipHash)", |b| {
        b.iter(|| black_box(&keys).get(black_box(&iss)).is_some());
    });
    g.bench_function("mac_matches: HMAC-SHA256 verify (7 compressions)", |b| {
        b.iter(|| {
            let mut m = black_box(&mac).clone();
            m.update(black_box(signing_input.as_bytes()));
            m.verify_slice(black_box(&tag[..n])).is_ok()
        });
    });
    g.bench_function("String::from_utf8(payload) check", |b| {
        b.iter(|| std::str::from_utf8(black_box(&payload)).is_ok());
    });
    g.finish();
}

fn all<M: Measurement>(c: &mut Criterion<M>) {
    mint_parts(c);
    verify_parts(c);
}

fn main() {
    clock::run_with_clock(all, all);
}
