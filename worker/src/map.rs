//! [`VecMap`]: a map kept as a `Vec` of entries sorted by key.
//!
//! The worker's maps hold a handful of entries (tabs, panels, requests in flight) or gain keys
//! seldom (the roster, conversations, cursors). A `BTreeMap` is compiled again for every key and
//! value type, several kilobytes of Wasm each; this is a binary search over a `Vec`, and it
//! iterates in key order as a `BTreeMap` does. A new key shifts the entries after it, so building
//! a map of n entries in random order moves O(n²) entries: a few milliseconds for a roster of
//! 2,000 agents, which a sort would save at the price of more Wasm than a `BTreeMap`.

use std::borrow::Borrow;

#[derive(Debug, Clone)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// Where `key` is, or where it would go.
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|at| &mut self.entries[at].1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// The value of `key`, inserted with `make` if there is none (`entry(key).or_insert_with`).
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.find(&key) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key, make()));
                at
            }
        };
        &mut self.entries[at].1
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|at| self.entries.remove(at).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// As `BTreeMap`'s: sorted by key, and the last of equal keys wins.
impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut map = Self::new();
        for (key, value) in entries {
            map.insert(key, value);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut map: VecMap<String, u32> =
            [("b", 2), ("a", 1), ("c", 3), ("a", 4)].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(map.iter().map(|(k, &v)| (k.as_str(), v)).collect::<Vec<_>>(), [("a", 4), ("b", 2), ("c", 3)]);
        assert_eq!(map.insert("b".into(), 5), Some(2));
        assert_eq!(map.insert("d".into(), 6), None);
        assert_eq!(map.get("b"), Some(&5));
        assert!(map.contains_key("d") && !map.contains_key("e"));
        *map.get_or_insert_with("e".into(), || 0) += 7;
        *map.get_or_insert_with("e".into(), || 0) += 1;
        assert_eq!(map.remove("a"), Some(4));
        assert_eq!(map.remove("a"), None);
        map.retain(|k, _| k != "c");
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [5, 6, 8]);
        map.clear();
        assert_eq!(map.iter().count(), 0);
    }
}
