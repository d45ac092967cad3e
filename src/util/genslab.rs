//! A slab whose keys carry a generation, so a stale key can never reach a reused entry.

/// Generations use 31 bits so an encoded key never sets bit 63 (reserved for internal ops).
const GEN_MASK: u32 = (1 << 31) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

impl Key {
    pub(crate) fn to_u64(self) -> u64 {
        ((self.gen as u64) << 32) | self.index as u64
    }

    pub(crate) fn from_u64(v: u64) -> Key {
        Key {
            index: v as u32,
            gen: (v >> 32) as u32,
        }
    }
}

struct Entry<T> {
    gen: u32,
    value: Option<T>,
}

pub(crate) struct GenSlab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> GenSlab<T> {
    pub(crate) fn new() -> Self {
        GenSlab {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let entry = &mut self.entries[index as usize];
            debug_assert!(entry.value.is_none());
            entry.value = Some(value);
            return Key {
                index,
                gen: entry.gen,
            };
        }
        let index = u32::try_from(self.entries.len()).expect("more than 2^32 live entries");
        self.entries.push(Entry {
            gen: 0,
            value: Some(value),
        });
        Key { index, gen: 0 }
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        let entry = self.entries.get(key.index as usize)?;
        if entry.gen != key.gen {
            return None;
        }
        entry.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.gen != key.gen {
            return None;
        }
        entry.value.as_mut()
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.gen != key.gen {
            return None;
        }
        let value = entry.value.take()?;
        entry.gen = (entry.gen + 1) & GEN_MASK;
        self.free.push(key.index);
        self.len -= 1;
        Some(value)
    }

    /// Removes every entry, returning them.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (index, entry) in self.entries.iter_mut().enumerate() {
            if let Some(v) = entry.value.take() {
                entry.gen = (entry.gen + 1) & GEN_MASK;
                self.free.push(index as u32);
                out.push(v);
            }
        }
        self.len = 0;
        out
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Key, &mut T)> {
        self.entries.iter_mut().enumerate().filter_map(|(i, e)| {
            let gen = e.gen;
            e.value.as_mut().map(|v| {
                (
                    Key {
                        index: i as u32,
                        gen,
                    },
                    v,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_key_misses_reused_slot() {
        let mut s = GenSlab::new();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_eq!(a.index, b.index);
        assert_ne!(a.gen, b.gen);
        assert_eq!(s.get(a), None);
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(Key::from_u64(b.to_u64()), b);
        assert_eq!(b.to_u64() >> 63, 0);
    }
}
