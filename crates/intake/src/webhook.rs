//! SendGrid's ECDSA signature check, the kinds of suppression, and base64.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

/// The header holding SendGrid's signature (base64 DER ECDSA over timestamp + body).
pub const SENDGRID_SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
/// The header holding the timestamp SendGrid signed.
pub const SENDGRID_TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

/// Why a contact must not be emailed, from an ESP's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SuppressionKind {
    /// Unsubscribed (from everything or a group).
    Unsubscribed,
    /// The address bounced.
    Bounced,
    /// Marked as spam.
    Complained,
}

/// The key from SendGrid's base64 DER form.
pub(crate) fn verifying_key(b64: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_public_key_der(&base64_decode(b64.trim())?).ok()
}

/// Whether `signature` (base64 DER) signs `timestamp` followed by `body` under `key`.
pub(crate) fn verify(key: &VerifyingKey, signature: &str, timestamp: &str, body: &[u8]) -> bool {
    let Some(der) = base64_decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(&der) else {
        return false;
    };
    let mut payload = Vec::with_capacity(timestamp.len() + body.len());
    payload.extend_from_slice(timestamp.as_bytes());
    payload.extend_from_slice(body);
    key.verify(&payload, &sig).is_ok()
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional); `None` for anything else.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64_decode("YWJjZDo=").unwrap(), b"abcd:");
        assert_eq!(base64_decode("YTo").unwrap(), b"a:");
        assert!(base64_decode("a b").is_none());
    }
}
