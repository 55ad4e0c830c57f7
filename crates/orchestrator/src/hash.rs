//! Content hashes: the sha256 of artifacts in the index, mirrors and run records.

use std::fmt::Write as _;

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut res = String::with_capacity(64);
    for byte in digest {
        let _ = write!(res, "{byte:02x}");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
