//! Reading a file's elements with their JSON pointers: lenient where real
//! files leave things out or write `null`, strict on a wrong type, which
//! is a problem named by its pointer.

use serde_json::Value;

use super::plan::Builder;
use super::MAX_RECORDS;

/// A value of the file and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub v: &'a Value,
    pub at: String,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'a> Node<'a> {
    pub fn root(v: &'a Value) -> Self {
        Node {
            v,
            at: String::new(),
        }
    }

    /// The pointer of `key` under this node.
    pub fn ptr(&self, key: &str) -> String {
        format!("{}/{}", self.at, escape(key))
    }

    /// The member `key`, `None` when missing or `null`.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.v.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Node {
                v,
                at: self.ptr(key),
            }),
        }
    }

    /// Whether this is an object; a problem if not.
    pub fn object(&self, b: &mut Builder) -> bool {
        if self.v.is_object() {
            return true;
        }
        b.problem(&self.at, format!("must be an object, not {}", kind(self.v)));
        false
    }

    pub fn str(&self, b: &mut Builder, key: &str) -> Option<&'a str> {
        let n = self.get(key)?;
        match n.v {
            Value::String(s) => Some(s),
            other => {
                b.problem(&n.at, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    /// A string that must be there; blank counts as there.
    pub fn req_str(&self, b: &mut Builder, key: &str) -> Option<&'a str> {
        if self.get(key).is_none() {
            b.problem(self.ptr(key), "is required");
            return None;
        }
        self.str(b, key)
    }

    /// A string that is neither missing nor blank.
    pub fn text(&self, b: &mut Builder, key: &str) -> Option<&'a str> {
        self.str(b, key).filter(|s| !s.trim().is_empty())
    }

    pub fn num(&self, b: &mut Builder, key: &str) -> Option<f64> {
        let n = self.get(key)?;
        match n.v.as_f64() {
            Some(x) => Some(x),
            None => {
                b.problem(&n.at, format!("must be a number, not {}", kind(n.v)));
                None
            }
        }
    }

    pub fn bool(&self, b: &mut Builder, key: &str) -> Option<bool> {
        let n = self.get(key)?;
        match n.v {
            Value::Bool(x) => Some(*x),
            other => {
                b.problem(&n.at, format!("must be true or false, not {}", kind(other)));
                None
            }
        }
    }

    /// The elements of the array `key` (none when missing or `null`; `null`
    /// elements skipped), refused past `MAX_RECORDS`.
    pub fn items(&self, b: &mut Builder, key: &str) -> Vec<Node<'a>> {
        let Some(n) = self.get(key) else {
            return Vec::new();
        };
        match n.v {
            Value::Array(items) => {
                if items.len() > MAX_RECORDS {
                    b.problem(
                        &n.at,
                        format!("holds {} elements; at most {MAX_RECORDS}", items.len()),
                    );
                    return Vec::new();
                }
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(i, v)| Node {
                        v,
                        at: format!("{}/{i}", n.at),
                    })
                    .collect()
            }
            other => {
                b.problem(&n.at, format!("must be an array, not {}", kind(other)));
                Vec::new()
            }
        }
    }

    /// The members of the object `key`, in file order, `null` ones skipped.
    pub fn entries(&self, b: &mut Builder, key: &str) -> Vec<(&'a str, Node<'a>)> {
        let Some(n) = self.get(key) else {
            return Vec::new();
        };
        match n.v {
            Value::Object(m) => {
                if m.len() > MAX_RECORDS {
                    b.problem(
                        &n.at,
                        format!("holds {} members; at most {MAX_RECORDS}", m.len()),
                    );
                    return Vec::new();
                }
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.as_str(), Node { v, at: n.ptr(k) }))
                    .collect()
            }
            other => {
                b.problem(&n.at, format!("must be an object, not {}", kind(other)));
                Vec::new()
            }
        }
    }

    /// The strings of the array `key`; `null` elements skipped.
    pub fn strings(&self, b: &mut Builder, key: &str) -> Vec<(String, &'a str)> {
        self.items(b, key)
            .into_iter()
            .filter_map(|n| match n.v {
                Value::String(s) => Some((n.at, s.as_str())),
                other => {
                    b.problem(&n.at, format!("must be a string, not {}", kind(other)));
                    None
                }
            })
            .collect()
    }
}

/// A value's JSON type, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first `max` characters of `s`, for names made from longer text.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let t = s.trim();
    match t.char_indices().nth(max) {
        Some((i, _)) => t[..i].trim_end().to_string(),
        None => t.to_string(),
    }
}
