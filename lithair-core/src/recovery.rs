//! Replaying `events.raftlog` at start-up (`docs/raftlog.md`, "Reading and validating").
//!
//! Every record is checked — checksum, gapless sequence, increasing timestamps — before its
//! event is applied. The first bad record is then classified: if nothing valid follows it, it is
//! a torn write left by a crash, which the caller may cut off; if valid records follow, the file
//! was damaged after it was written and start-up must stop. This module never writes.
//!
//! Checking and decoding records is most of the work of a restart, so it runs in parallel: the
//! file is read in chunks of whole lines, decoder threads check and decode chunks, and this
//! thread applies the decoded chunks strictly in file order.

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    path::Path,
    sync::{Arc, Mutex, mpsc},
    thread,
};

use crate::{
    Damage, Event, OpenError,
    record::{self, Header},
};

/// Where a replay begins: at the start of the log, or after the record a snapshot covers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Start {
    pub offset: u64,
    pub seq: u64,
    pub ts: u64,
}

/// What a replay found, when the log can be used.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Length of the valid prefix: where the next record goes.
    pub valid_len: u64,
    pub last_seq: u64,
    pub last_ts: u64,
    pub last_crc: u32,
    pub records: u64,
    pub torn_tail: Option<TornTail>,
}

/// The end of the file that a crash left half-written.
#[derive(Debug)]
pub(crate) struct TornTail {
    pub offset: u64,
    pub bytes: u64,
    pub damage: Damage,
}

const CHUNK_BYTES: usize = 4 << 20;
const CHUNKS_IN_FLIGHT: usize = 8;

/// A chunk of whole lines and where it starts in the file.
struct Job<E> {
    bytes: Vec<u8>,
    offset: u64,
    reply: mpsc::SyncSender<Decoded<E>>,
}

/// The records of a chunk, up to the first one that could not be checked or decoded.
struct Decoded<E> {
    records: Vec<DecodedRecord<E>>,
    stop: Option<Stop>,
}

struct DecodedRecord<E> {
    /// Where the record starts in the file, and where the next one starts.
    offset: u64,
    end: u64,
    header: Header,
    crc: u32,
    event: E,
}

enum Stop {
    Damaged { offset: u64, damage: Damage },
    Unreadable { offset: u64, seq: u64, reason: String },
}

/// Replay the log at `path` into `state`, from `start` on.
pub(crate) fn replay<E: Event>(
    path: &Path,
    state: &mut E::State,
    start: Start,
) -> Result<Scan, OpenError> {
    let io_error = |source| OpenError::Io { path: path.to_owned(), source };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(err) => return Err(io_error(err)),
    };
    file.seek(SeekFrom::Start(start.offset)).map_err(io_error)?;
    let scan =
        Scan { valid_len: start.offset, last_seq: start.seq, last_ts: start.ts, ..Scan::default() };
    let decoders = thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let (jobs, queue) = mpsc::channel::<Job<E>>();
    let queue = Arc::new(Mutex::new(queue));

    thread::scope(|scope| {
        for _ in 0..decoders {
            let queue = Arc::clone(&queue);
            scope.spawn(move || decode_jobs(&queue));
        }
        // Dropping `jobs` on every way out of this closure lets the decoders finish.
        let mut replay = Replay { path, scan };
        let mut in_flight = VecDeque::with_capacity(CHUNKS_IN_FLIGHT);
        let mut chunks = Chunks { file, carry: Vec::new(), offset: start.offset };
        while let Some((bytes, offset)) = chunks.next().map_err(io_error)? {
            if in_flight.len() == CHUNKS_IN_FLIGHT
                && let Some(oldest) = in_flight.pop_front()
                && let Some(damaged) = replay.apply(oldest, state)?
            {
                return replay.finish_at(damaged);
            }
            let (reply, decoded) = mpsc::sync_channel(1);
            jobs.send(Job { bytes, offset, reply }).map_err(|_| decoder_failed(path))?;
            in_flight.push_back(decoded);
        }
        drop(jobs);
        while let Some(oldest) = in_flight.pop_front() {
            if let Some(damaged) = replay.apply(oldest, state)? {
                return replay.finish_at(damaged);
            }
        }
        Ok(replay.scan)
    })
}

/// A decoder thread is gone: it can only have panicked, and the replay cannot go on.
fn decoder_failed(path: &Path) -> OpenError {
    let source = io::Error::other("a log decoder thread failed");
    OpenError::Io { path: path.to_owned(), source }
}

/// The applying side of a replay.
struct Replay<'a> {
    path: &'a Path,
    scan: Scan,
}

/// The first record that failed its checks, where the replay stopped.
struct Damaged {
    offset: u64,
    damage: Damage,
}

impl Replay<'_> {
    /// Apply a decoded chunk, in file order. Returns where it stopped if it ended in a damaged
    /// record, for [`Replay::finish_at`] to classify.
    fn apply<E: Event>(
        &mut self,
        chunk: mpsc::Receiver<Decoded<E>>,
        state: &mut E::State,
    ) -> Result<Option<Damaged>, OpenError> {
        let decoded = chunk.recv().map_err(|_| decoder_failed(self.path))?;
        for record in decoded.records {
            self.check_sequence(record.offset, record.header)?;
            record.event.apply(state);
            self.scan.last_seq = record.header.seq;
            self.scan.last_ts = record.header.ts;
            self.scan.last_crc = record.crc;
            self.scan.records += 1;
            self.scan.valid_len = record.end;
        }
        match decoded.stop {
            None => Ok(None),
            Some(Stop::Unreadable { offset, seq, reason }) => {
                Err(OpenError::UnreadableEvent { path: self.path.to_owned(), offset, seq, reason })
            }
            Some(Stop::Damaged { offset, damage }) => Ok(Some(Damaged { offset, damage })),
        }
    }

    fn check_sequence(&self, offset: u64, header: Header) -> Result<(), OpenError> {
        let expected = self.scan.last_seq + 1;
        let damage = if header.seq != expected {
            Damage::SequenceGap { expected, found: header.seq }
        } else if header.ts <= self.scan.last_ts {
            Damage::TimestampNotIncreasing { previous: self.scan.last_ts, found: header.ts }
        } else {
            return Ok(());
        };
        Err(self.corrupt(offset, damage, 0))
    }

    fn corrupt(&self, offset: u64, damage: Damage, valid_records_after: u64) -> OpenError {
        OpenError::Corrupt {
            path: self.path.to_owned(),
            offset,
            last_good_seq: self.scan.last_seq,
            damage,
            valid_records_after,
        }
    }

    /// The replay stopped at a bad record: a torn tail if it could be one and nothing valid
    /// follows it, corruption otherwise.
    fn finish_at(mut self, Damaged { offset, damage }: Damaged) -> Result<Scan, OpenError> {
        if !damage.can_be_torn_write() {
            return Err(self.corrupt(offset, damage, 0));
        }
        let (valid_after, bytes) = inspect_tail(self.path, offset)
            .map_err(|source| OpenError::Io { path: self.path.to_owned(), source })?;
        if valid_after > 0 {
            return Err(self.corrupt(offset, damage, valid_after));
        }
        self.scan.torn_tail = Some(TornTail { offset, bytes, damage });
        Ok(self.scan)
    }
}

/// From the bad record at `offset` to the end of the file: how many complete lines with a
/// verifying checksum follow it, and how many bytes there are.
fn inspect_tail(path: &Path, offset: u64) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let bytes = file.metadata()?.len() - offset;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?; // the bad record itself
    let mut valid = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok((valid, bytes));
        }
        if let Some(complete) = line.strip_suffix(b"\n")
            && record::verify_checksum(complete).is_ok()
        {
            valid += 1;
        }
    }
}

/// The file cut into chunks of whole lines; the last chunk may end with an incomplete line.
struct Chunks {
    file: File,
    carry: Vec<u8>,
    offset: u64,
}

impl Chunks {
    fn next(&mut self) -> io::Result<Option<(Vec<u8>, u64)>> {
        loop {
            let mut bytes = Vec::with_capacity(CHUNK_BYTES + self.carry.len());
            bytes.append(&mut self.carry);
            let read = (&mut self.file).take(CHUNK_BYTES as u64).read_to_end(&mut bytes)?;
            if read == 0 {
                return Ok(self.emit(bytes));
            }
            match memchr::memrchr(b'\n', &bytes) {
                Some(last_lf) => {
                    self.carry = bytes.split_off(last_lf + 1);
                    return Ok(self.emit(bytes));
                }
                // A line longer than a chunk: keep reading until it ends.
                None => self.carry = bytes,
            }
        }
    }

    fn emit(&mut self, bytes: Vec<u8>) -> Option<(Vec<u8>, u64)> {
        if bytes.is_empty() {
            return None;
        }
        let offset = self.offset;
        self.offset += bytes.len() as u64;
        Some((bytes, offset))
    }
}

fn decode_jobs<E: Event>(queue: &Mutex<mpsc::Receiver<Job<E>>>) {
    loop {
        let job = queue.lock().unwrap_or_else(|poison| poison.into_inner()).recv();
        let Ok(Job { bytes, offset, reply }) = job else { return };
        let _ = reply.send(decode_chunk(&bytes, offset));
    }
}

fn decode_chunk<E: Event>(bytes: &[u8], chunk_offset: u64) -> Decoded<E> {
    let mut records = Vec::with_capacity(bytes.len() / 256);
    let mut start = 0;
    while start < bytes.len() {
        let offset = chunk_offset + start as u64;
        let rest = &bytes[start..];
        let Some(len) = memchr::memchr(b'\n', rest) else {
            return Decoded {
                records,
                stop: Some(Stop::Damaged { offset, damage: Damage::Incomplete }),
            };
        };
        let line = &rest[..len];
        let checked =
            record::verify_checksum(line).and_then(|crc| Ok((crc, record::parse_header(line)?)));
        let (crc, header) = match checked {
            Ok(checked) => checked,
            Err(damage) => {
                return Decoded { records, stop: Some(Stop::Damaged { offset, damage }) };
            }
        };
        match record::decode_event::<E>(line) {
            Ok(event) => {
                let end = offset + len as u64 + 1;
                records.push(DecodedRecord { offset, end, header, crc, event });
            }
            Err(err) => {
                let stop = Stop::Unreadable { offset, seq: header.seq, reason: err.to_string() };
                return Decoded { records, stop: Some(stop) };
            }
        }
        start += len + 1;
    }
    Decoded { records, stop: None }
}
