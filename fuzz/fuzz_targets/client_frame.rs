//! The relay's untrusted input path, byte by byte: whatever a client sends after the upgrade
//! goes through `server::ws::Reader` (arriving in reads of any size), and every text message
//! through `protocol::decode_client`.
//!
//! What it proves, for any bytes in any read sizes: the reader never panics, answers each call
//! with a message, "need more" or a refusal; a text message is never over the limit; memory
//! stays bounded by the configured limits, never by the input's length or by a length a header
//! claims (no allocation made inside the reader exceeds 4 × (initial + limit + header)); and
//! every text that decodes as a `ClientFrame` re-encodes with serde_json and decodes back to the
//! same frame.
//!
//! Input: byte 0 seeds the read sizes; byte 1 chooses the reader's sizes (bits 0–1), whether
//! the first read arrives as `prefill` (bit 2), and whether the rest is a raw byte stream or a
//! message payload that the harness frames itself (bit 3: masked with byte 0 repeated when bit
//! 4 is set, with a zero mask otherwise, and cut into fragments), so that the JSON decoder gets
//! mutated text directly.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use server::ws::{Incoming, Reader, masked};

/// Records the largest allocation made while `TRACKING` is set (libFuzzer runs the target on
/// one thread).
struct Tracking;

static TRACKING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is passed unchanged to the system allocator; only sizes are recorded.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

fn note(size: usize) {
    if TRACKING.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

/// Runs `f` (a call into the reader) with its allocations recorded.
fn tracked<T>(f: impl FnOnce() -> T) -> T {
    TRACKING.store(true, Ordering::Relaxed);
    let out = f();
    TRACKING.store(false, Ordering::Relaxed);
    out
}

/// (initial buffer, message limit): a tiny buffer, the unit tests' sizes, the relay's defaults
/// (`--ws-buffer-bytes`, `--max-frame-bytes`), and a limit over one 16-bit length.
const SIZES: [(usize, usize); 4] = [(16, 256), (64, 1024), (2048, 16 * 1024), (1024, 70_000)];
/// The longest header: 2 bytes, an 8-byte length, a 4-byte mask.
const HEADER: usize = 14;

/// `payload` as one text message in up to four fragments.
fn framed(payload: &[u8], seed: u8, mask: [u8; 4]) -> Vec<u8> {
    let pieces = 1 + usize::from(seed >> 6);
    let size = payload.len().div_ceil(pieces).max(1);
    let chunks: Vec<&[u8]> = if payload.is_empty() { vec![payload] } else { payload.chunks(size).collect() };
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { 0x1 } else { 0x0 };
        let fin = if i + 1 == chunks.len() { 0x80 } else { 0 };
        out.extend(masked(fin | opcode, chunk, mask));
    }
    out
}

/// Read sizes from 1 to 64, from a xorshift generator seeded by one byte.
struct ReadSizes(u32);

impl ReadSizes {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        1 + (self.0 % 64) as usize
    }
}

fuzz_target!(|data: &[u8]| {
    let [seed, flags, rest @ ..] = data else { return };
    let (initial, limit) = SIZES[usize::from(flags & 0b11)];
    let stream = if flags & 0b1000 != 0 {
        let mask = if flags & 0b1_0000 != 0 { [*seed; 4] } else { [0; 4] };
        framed(rest, *seed, mask)
    } else {
        rest.to_vec()
    };
    let mut sizes = ReadSizes(0x9e37_79b9 ^ u32::from(*seed));
    let bound = 4 * (initial + limit + HEADER);
    LARGEST.store(0, Ordering::Relaxed);
    let mut reader = tracked(|| Reader::new(initial, limit));
    let mut at = 0;
    if flags & 0b100 != 0 {
        // The bytes the HTTP layer read past the upgrade (at most one read's worth).
        let n = sizes.next().min(stream.len());
        tracked(|| reader.prefill(&stream[..n]));
        at = n;
    }
    'reading: loop {
        loop {
            match tracked(|| reader.next_message()) {
                Ok(Some(Incoming::Text(text))) => check_text(&text, limit),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e.close_code(), 1002 | 1007 | 1009), "{e:?}");
                    break 'reading;
                }
            }
        }
        if at == stream.len() {
            break;
        }
        let n = sizes.next().min(stream.len() - at);
        let room = tracked(|| reader.spare().len());
        assert!(room > 0, "the reader offered no room to read into");
        let n = n.min(room);
        tracked(|| {
            let spare = reader.spare();
            spare[..n].copy_from_slice(&stream[at..at + n]);
            reader.filled(n);
        });
        at += n;
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= bound, "the reader allocated {largest} bytes at once (bound {bound}, limit {limit})");
});

fn check_text(text: &str, limit: usize) {
    assert!(text.len() <= limit, "a text message of {} bytes passed the {limit}-byte limit", text.len());
    let Ok(frame) = protocol::decode_client(text) else { return };
    let again = serde_json::to_string(&frame).expect("a decoded frame encodes");
    let back = protocol::decode_client(&again).unwrap_or_else(|e| panic!("re-encoded frame refused: {e}\n{again}"));
    assert_eq!(back, frame, "round trip through {again}");
}
