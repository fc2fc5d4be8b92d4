//! A vector that grows by chunks, for the state's tables indexed by id.
//!
//! A `Vec` that doubles copies everything it holds, and the state's tables grow while the writer
//! holds every commit: with a million articles that copy, made twice (the writer's head state and
//! the readers' state), held every write for tens of milliseconds (the ~100 ms write stalls of
//! docs/performance.md). Growing by one more chunk copies nothing but the short list of chunks.
//! Serialised, it is one sequence, exactly like the `Vec` it replaced, so snapshots keep their
//! shape.

use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeSeq};

/// Elements per chunk: 4096 article slots are about 256 KiB.
const CHUNK: usize = 4096;

#[derive(Debug, Clone)]
pub struct ChunkedVec<T> {
    /// Every chunk but the last is full.
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec { chunks: Vec::new(), len: 0 }
    }
}

impl<T> ChunkedVec<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    pub fn push(&mut self, value: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let last = self.chunks.len() - 1;
        self.chunks[last].push(value);
        self.len += 1;
    }

    /// The element at `index`, pushing `fill()` until the vector is long enough to hold it.
    pub fn get_or_grow(&mut self, index: usize, mut fill: impl FnMut() -> T) -> &mut T {
        while self.len <= index {
            self.push(fill());
        }
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T: Serialize> Serialize for ChunkedVec<T> {
    /// One sequence of known length (the snapshots' encoding, postcard, needs the length).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for value in self.iter() {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ChunkedVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut chunked = ChunkedVec::default();
        for value in Vec::<T>::deserialize(deserializer)? {
            chunked.push(value);
        }
        Ok(chunked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: usize) -> ChunkedVec<usize> {
        let mut chunked = ChunkedVec::default();
        (0..n).for_each(|i| chunked.push(i));
        chunked
    }

    #[test]
    fn elements_across_chunks_are_found_in_order() {
        let n = 2 * CHUNK + 10;
        let mut chunked = numbers(n);
        assert_eq!(chunked.len(), n);
        for i in [0, CHUNK - 1, CHUNK, CHUNK + 1, n - 1] {
            assert_eq!(chunked.get(i), Some(&i), "index {i}");
        }
        assert_eq!(chunked.get(n), None);
        *chunked.get_mut(CHUNK).unwrap() = 0;
        *chunked.get_or_grow(n + 1, || 7) = 9;
        assert_eq!(
            (chunked.len(), chunked.get(n), chunked.get(n + 1)),
            (n + 2, Some(&7), Some(&9))
        );
        assert_eq!(
            chunked.iter().copied().collect::<Vec<_>>()[CHUNK - 1..CHUNK + 2],
            [CHUNK - 1, 0, CHUNK + 1]
        );
    }

    /// Snapshots written when the tables were `Vec`s must still load, and the other way round.
    #[test]
    fn it_is_encoded_exactly_like_a_vec() {
        let chunked = numbers(CHUNK + 10);
        let vec: Vec<usize> = (0..CHUNK + 10).collect();
        assert_eq!(serde_json::to_string(&numbers(3)).unwrap(), "[0,1,2]");
        let bytes = postcard::to_allocvec(&chunked).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&vec).unwrap());
        let back: ChunkedVec<usize> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), vec);
    }
}
