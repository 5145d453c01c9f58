//! What an API key may do.

string_enum!(
    /// Ordered: each role can do everything the one before it can.
    Role {
        Viewer => "viewer",
        Editor => "editor",
        Owner => "owner",
    }
);

impl Role {
    /// Writing records of a model needs at least `editor`.
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    /// Managing API keys needs `owner`.
    pub fn can_manage_keys(self) -> bool {
        self == Role::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(!Role::Viewer.can_write());
        assert!(Role::Editor.can_write());
        assert!(!Role::Editor.can_manage_keys());
        assert!(Role::Owner.can_write() && Role::Owner.can_manage_keys());
        assert_eq!(Role::parse("editor"), Some(Role::Editor));
        assert_eq!(Role::parse("Editor"), None);
    }
}
