//! Why this exists: one rule for a user name, shared by the config (which names users) and the job
//! file (which carries one), so every configured user can be spooled and the worker refuses exactly
//! what the config could never have named.

use std::fmt;

/// Longest user name a job may carry; user names end up in logs and reason files.
pub const MAX_USER_BYTES: usize = 256;

/// What is wrong with a user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserNameProblem {
    Empty,
    TooLong,
    ControlCharacter,
}

impl UserNameProblem {
    /// The reason in words, for reason files and config errors alike.
    pub fn as_str(self) -> &'static str {
        match self {
            UserNameProblem::Empty => "it is empty",
            UserNameProblem::TooLong => "it is longer than 256 bytes",
            UserNameProblem::ControlCharacter => "it contains control characters",
        }
    }
}

impl fmt::Display for UserNameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with `name` as a user name, if anything. (The config also refuses `:`, which HTTP
/// Basic auth cannot carry in a user name; a job never needs that check.)
pub fn user_name_problem(name: &str) -> Option<UserNameProblem> {
    if name.is_empty() {
        return Some(UserNameProblem::Empty);
    }
    if name.len() > MAX_USER_BYTES {
        return Some(UserNameProblem::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Some(UserNameProblem::ControlCharacter);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_in_words_matches_the_constant() {
        assert!(UserNameProblem::TooLong
            .as_str()
            .contains(&MAX_USER_BYTES.to_string()));
        assert_eq!(user_name_problem(&"a".repeat(MAX_USER_BYTES)), None);
        assert_eq!(
            user_name_problem(&"a".repeat(MAX_USER_BYTES + 1)),
            Some(UserNameProblem::TooLong)
        );
        assert_eq!(
            user_name_problem("a\u{7f}"),
            Some(UserNameProblem::ControlCharacter)
        );
        assert_eq!(user_name_problem(""), Some(UserNameProblem::Empty));
    }
}
