//! Reading an untrusted file into a JSON value within bounds checked as it
//! is read: nesting depth, string length and node count. YAML aliases are
//! replayed by the parser, so the node budget is what stops an alias bomb
//! ("billion laughs"): a file can never expand to more nodes than an
//! alias-free file of its size could hold. YAML merge keys (`<<`) are
//! applied, as Threagile files rely on them.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The deepest nesting accepted (objects and arrays).
pub const MAX_DEPTH: usize = 64;
/// The longest string accepted, in bytes.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;
/// The most nodes (values of any kind) one file may hold.
pub const MAX_NODES: usize = 4_000_000;

/// The syntax a body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
    /// Either: JSON when it reads as JSON, else YAML (a body sent as bytes).
    Detect,
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not well-formed JSON or YAML; `detail` says where.
    #[error("{detail}")]
    Syntax { detail: String },
    /// Well-formed but past a bound; `pointer` is where it was crossed.
    #[error("{pointer}: {message}")]
    Bound { pointer: String, message: String },
}

/// The node budget for a body of `len` bytes: half its length (a JSON
/// value takes at least two bytes, `0,`), at least 10 000, at most
/// `MAX_NODES`.
pub fn node_budget(len: usize) -> usize {
    (len / 2).clamp(10_000, MAX_NODES)
}

/// Reads `body` as `syntax` into a value, within the bounds.
pub fn read(body: &[u8], syntax: Syntax) -> Result<Value, ReadError> {
    if syntax == Syntax::Detect {
        let looks_like_json = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['));
        if looks_like_json {
            match read(body, Syntax::Json) {
                Err(ReadError::Syntax { .. }) => {}
                done => return done,
            }
        }
        return read(body, Syntax::Yaml);
    }
    let mut state = State {
        nodes_left: node_budget(body.len()),
        depth: 0,
        path: Vec::new(),
        bound: None,
        merge_keys: syntax == Syntax::Yaml,
    };
    let result = match syntax {
        Syntax::Json => {
            // serde_json's own depth limit (128) is above ours, so ours is met first.
            let mut de = serde_json::Deserializer::from_slice(body);
            Seed { st: &mut state }
                .deserialize(&mut de)
                .and_then(|v| de.end().map(|()| v))
                .map_err(|e| e.to_string())
        }
        Syntax::Yaml | Syntax::Detect => {
            let text = std::str::from_utf8(body).map_err(|e| ReadError::Syntax {
                detail: format!("the YAML is not UTF-8: {e}"),
            })?;
            let de = serde_norway::Deserializer::from_str(text);
            Seed { st: &mut state }
                .deserialize(de)
                .map_err(|e| e.to_string())
        }
    };
    match (result, state.bound) {
        (_, Some((pointer, message))) => Err(ReadError::Bound { pointer, message }),
        (Ok(v), None) => Ok(v),
        (Err(detail), None) => Err(ReadError::Syntax { detail }),
    }
}

/// A JSON pointer (RFC 6901) of path segments.
pub fn pointer(path: &[String]) -> String {
    path.iter().fold(String::new(), |mut p, s| {
        p.push('/');
        p.push_str(&s.replace('~', "~0").replace('/', "~1"));
        p
    })
}

struct State {
    nodes_left: usize,
    depth: usize,
    path: Vec<String>,
    /// The first bound crossed, with where.
    bound: Option<(String, String)>,
    merge_keys: bool,
}

impl State {
    fn exceed<E: de::Error>(&mut self, message: String) -> E {
        if self.bound.is_none() {
            self.bound = Some((pointer(&self.path), message.clone()));
        }
        E::custom(message)
    }

    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        if self.nodes_left == 0 {
            return Err(self.exceed(
                "the file expands to more values than its size allows (YAML aliases?)".into(),
            ));
        }
        self.nodes_left -= 1;
        Ok(())
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.exceed(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn string<E: de::Error>(&mut self, s: &str) -> Result<String, E> {
        if s.len() > MAX_STRING_BYTES {
            return Err(self.exceed(format!(
                "a string of {} bytes is longer than {MAX_STRING_BYTES}",
                s.len()
            )));
        }
        Ok(s.to_owned())
    }
}

struct Seed<'a> {
    st: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.st.count()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.st.count()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.st.count()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.st.count()?;
        match Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(self.st.exceed(format!("{v} is not a finite number"))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.st.count()?;
        self.st.string(v).map(Value::String)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.visit_str(&v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.st.count()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let st = self.st;
        st.count()?;
        st.enter()?;
        let mut items = Vec::new();
        loop {
            st.path.push(items.len().to_string());
            let next = seq.next_element_seed(Seed { st: &mut *st })?;
            st.path.pop();
            match next {
                Some(v) => items.push(v),
                None => break,
            }
        }
        st.depth -= 1;
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let st = self.st;
        st.count()?;
        st.enter()?;
        let mut out = Map::new();
        let mut merged: Vec<Value> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed { st: &mut *st })? {
            st.path.push(key.clone());
            let value = map.next_value_seed(Seed { st: &mut *st })?;
            st.path.pop();
            if st.merge_keys && key == "<<" {
                merged.push(value);
            } else {
                out.insert(key, value);
            }
        }
        // Explicit keys win over merged ones; earlier merges over later.
        for source in merged {
            let maps = match source {
                Value::Array(items) => items,
                other => vec![other],
            };
            for m in maps {
                let Value::Object(m) = m else {
                    return Err(
                        st.exceed("a merge key (<<) takes a mapping or a list of mappings".into())
                    );
                };
                for (k, v) in m {
                    out.entry(k).or_insert(v);
                }
            }
        }
        st.depth -= 1;
        Ok(Value::Object(out))
    }
}

/// A mapping key: any scalar, as its text (YAML allows `1:` and `true:`).
struct KeySeed<'a> {
    st: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.st.count()?;
        self.st.string(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        self.visit_str(&v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.visit_str("null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_alike() {
        let j = read(br#"{"a": [1, 2.5, "x", null, true]}"#, Syntax::Json).unwrap();
        let y = read(b"a: [1, 2.5, x, null, true]\n", Syntax::Yaml).unwrap();
        assert_eq!(j, y);
    }

    #[test]
    fn yaml_dates_stay_strings_and_merge_keys_apply() {
        let v = read(
            b"base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n  date: 2020-07-01\n",
            Syntax::Yaml,
        )
        .unwrap();
        assert_eq!(v["item"]["x"], 1);
        assert_eq!(v["item"]["y"], 3);
        assert_eq!(v["item"]["date"], "2020-07-01");
        assert!(v["item"].get("<<").is_none());
    }

    #[test]
    fn an_alias_bomb_stops_at_the_node_budget() {
        let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                ["b", "c", "d", "e", "f", "g", "h"][i - 1].to_string()
            };
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let err = read(bomb.as_bytes(), Syntax::Yaml).unwrap_err();
        let ReadError::Bound { message, .. } = err else {
            panic!("expected a bound, got {err:?}");
        };
        assert!(message.contains("more values"), "{message}");
    }

    #[test]
    fn deep_nesting_is_refused_with_its_place() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let err = read(deep.as_bytes(), Syntax::Json).unwrap_err();
        assert_eq!(
            err,
            ReadError::Bound {
                pointer: format!("/{}", vec!["0"; 64].join("/")),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            }
        );
        let yaml = format!("{}1{}", "[".repeat(70), "]".repeat(70));
        assert!(matches!(
            read(yaml.as_bytes(), Syntax::Yaml),
            Err(ReadError::Bound { .. })
        ));
    }

    #[test]
    fn a_huge_string_is_refused() {
        let body = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_STRING_BYTES + 1));
        let err = read(body.as_bytes(), Syntax::Json).unwrap_err();
        assert!(
            matches!(err, ReadError::Bound { ref pointer, .. } if pointer == "/name"),
            "{err:?}"
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = read(b"{\"a\": }", Syntax::Json).unwrap_err();
        assert!(
            matches!(err, ReadError::Syntax { ref detail } if detail.contains("column")),
            "{err:?}"
        );
        let err = read(b"a: [1, 2\n", Syntax::Yaml).unwrap_err();
        assert!(matches!(err, ReadError::Syntax { .. }), "{err:?}");
        assert!(matches!(
            read(b"a: .nan\n", Syntax::Yaml),
            Err(ReadError::Bound { .. })
        ));
    }

    #[test]
    fn bytes_read_as_json_or_else_yaml() {
        let json = read(br#" {"a": [1]}"#, Syntax::Detect).unwrap();
        assert_eq!(json, serde_json::json!({"a": [1]}));
        // A YAML flow mapping is not JSON: read as YAML.
        assert_eq!(read(b"{a: [1]}", Syntax::Detect).unwrap(), json);
        assert_eq!(read(b"a:\n  - 1\n", Syntax::Detect).unwrap(), json);
        assert!(matches!(
            read(b"{a: [1", Syntax::Detect),
            Err(ReadError::Syntax { .. })
        ));
    }

    #[test]
    fn pointers_escape() {
        assert_eq!(
            pointer(&["a/b".into(), "c~d".into(), "0".into()]),
            "/a~1b/c~0d/0"
        );
    }
}
