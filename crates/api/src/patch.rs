//! PATCH is a JSON merge patch (RFC 7396) over a record's writable fields:
//! absent leaves a field, `null` clears it, a value replaces it. The merged
//! document is then parsed and validated exactly like a create, so one set
//! of rules covers both.

use palisade_domain::ValidationErrors;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::parse_json;

pub fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(entries) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(map) = target {
                for (key, value) in entries {
                    if value.is_null() && map.contains_key(&key) {
                        map.remove(&key);
                    } else if value.is_null() {
                        // Not a field the record has: kept as `null`, so the
                        // strict parse that follows refuses an unknown name
                        // rather than the patch silently ignoring it.
                        map.insert(key, Value::Null);
                    } else {
                        merge(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// The current fields with the patch applied, parsed strictly.
pub fn apply<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: Value,
) -> Result<T, ValidationErrors> {
    if !patch.is_object() {
        return Err(ValidationErrors::single(
            "body",
            "a PATCH body is a JSON object of the fields to change",
        ));
    }
    let mut doc = serde_json::to_value(current)
        .map_err(|e| ValidationErrors::single("body", e.to_string()))?;
    merge(&mut doc, patch);
    let bytes =
        serde_json::to_vec(&doc).map_err(|e| ValidationErrors::single("body", e.to_string()))?;
    parse_json(&bytes).map_err(|e| match e {
        ApiError::Validation(errors) => errors,
        other => ValidationErrors::single("body", other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_domain::asset::AssetFields;
    use serde_json::json;

    #[test]
    fn merge_follows_rfc_7396() {
        // The RFC's own example (section 3).
        let mut doc = json!({"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"});
        merge(
            &mut doc,
            json!({"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}),
        );
        assert_eq!(
            doc,
            json!({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"})
        );
    }

    #[test]
    fn patching_clears_sets_and_checks_fields() {
        let current: AssetFields = serde_json::from_value(
            json!({"name":"db","kind":"data","owner":"dba","classification":"internal"}),
        )
        .unwrap();
        let next = apply(
            &current,
            json!({"owner": null, "classification": "restricted"}),
        )
        .unwrap();
        assert_eq!(next.owner, None);
        assert_eq!(next.classification.map(|c| c.as_str()), Some("restricted"));
        assert_eq!(next.name, "db");

        let err = apply(&current, json!({"classification": "secret"})).unwrap_err();
        assert_eq!(err.0[0].field, "classification");
        let err = apply(&current, json!({"name": null})).unwrap_err();
        assert_eq!(err.0[0].field, "name");
        let err = apply(&current, json!({"colour": null})).unwrap_err();
        assert_eq!(
            err.0[0].field, "colour",
            "an unknown field is refused, even as null"
        );
        let err = apply(&current, json!(["not", "an", "object"])).unwrap_err();
        assert_eq!(err.0[0].field, "body");
    }
}
