//! Assets contain assets (a service holds data): the containment must stay a
//! tree, so a new parent is refused when it would close a loop.

use std::collections::{HashMap, HashSet};

use crate::ids::AssetId;

/// True when making `new_parent` the parent of `asset` would create a cycle,
/// given every asset's current parent. Walks up from `new_parent`; stops on an
/// already-broken chain instead of looping.
pub fn would_cycle(
    asset: AssetId,
    new_parent: AssetId,
    parents: &HashMap<AssetId, Option<AssetId>>,
) -> bool {
    let mut seen = HashSet::new();
    let mut cursor = Some(new_parent);
    while let Some(current) = cursor {
        if current == asset || !seen.insert(current) {
            return true;
        }
        cursor = parents.get(&current).copied().flatten();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<AssetId> {
        (0..n).map(|_| AssetId::generate()).collect()
    }

    #[test]
    fn own_descendant_cannot_become_parent() {
        // a ← b ← c (c's parent is b, b's parent is a)
        let v = ids(4);
        let (a, b, c, d) = (v[0], v[1], v[2], v[3]);
        let parents = HashMap::from([(a, None), (b, Some(a)), (c, Some(b)), (d, None)]);
        assert!(would_cycle(a, c, &parents), "a under its grandchild");
        assert!(would_cycle(a, a, &parents), "a under itself");
        assert!(
            !would_cycle(c, a, &parents),
            "c under its grandparent is fine"
        );
        assert!(!would_cycle(a, d, &parents), "a under an unrelated asset");
    }

    #[test]
    fn an_existing_loop_does_not_hang() {
        let v = ids(3);
        let parents = HashMap::from([(v[0], Some(v[1])), (v[1], Some(v[0])), (v[2], None)]);
        assert!(would_cycle(v[2], v[0], &parents));
    }
}
