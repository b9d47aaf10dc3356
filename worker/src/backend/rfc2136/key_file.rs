//! Why this exists: `tsig_secret_file` may hold the base64 secret alone or a BIND key file
//! (`key "name" { algorithm hmac-sha256; secret "..."; };`, as `tsig-keygen` writes it); both give
//! the secret's bytes.

use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileProblem {
    #[error("empty (expected the base64 secret alone or a BIND key file)")]
    Empty,
    #[error("a BIND key file without `secret \"...\";`")]
    NoSecret,
    #[error("the secret is not base64")]
    NotBase64,
}

/// The secret's bytes from the file's text. Never puts the secret into an error.
pub fn secret(text: &str) -> Result<Vec<u8>, KeyFileProblem> {
    let encoded = if text.contains('{') {
        // The `secret` statement, not a key named "secret": the word starts a statement.
        text.match_indices("secret")
            .filter(|(at, _)| {
                text[..*at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_whitespace() || c == '{' || c == ';')
            })
            .find_map(|(at, word)| {
                let value = text[at + word.len()..].trim_start().strip_prefix('"')?;
                value.split('"').next()
            })
            .ok_or(KeyFileProblem::NoSecret)?
            .trim()
    } else {
        text.trim()
    };
    if encoded.is_empty() {
        return Err(KeyFileProblem::Empty);
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| KeyFileProblem::NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_secret_and_a_bind_key_file_give_the_same_bytes() {
        let bare = secret("c2VjcmV0\n").unwrap();
        let bind =
            secret("key \"secret\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n")
                .unwrap();
        assert_eq!(bare, b"secret");
        assert_eq!(bind, b"secret");
        assert_eq!(secret("  \n"), Err(KeyFileProblem::Empty));
        assert_eq!(
            secret("key \"x\" { algorithm hmac-sha256; };"),
            Err(KeyFileProblem::NoSecret)
        );
        assert_eq!(secret("not base64!"), Err(KeyFileProblem::NotBase64));
    }
}
