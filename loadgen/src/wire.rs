//! Just enough WebSocket framing for the load generator's agents, which read a hundred thousand
//! small frames a second: unmasked server frames are parsed in place from one reusable buffer,
//! client frames are masked as the protocol requires. The handshake and everything else go
//! through tungstenite ([`crate::Client`]); this only replaces the hot path of `bench`.

/// Opcode of a text frame.
pub const TEXT: u8 = 0x1;
/// Opcode of a close frame.
pub const CLOSE: u8 = 0x8;

/// Why the byte stream is not a WebSocket the bench understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

/// Accumulates bytes read from the socket and yields complete frames.
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    pub fn new(capacity: usize) -> Self {
        Self { buf: vec![0; capacity], start: 0, end: 0 }
    }

    /// Room to read into; moves unread bytes to the front, and grows for a large frame.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into [`FrameReader::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// The next complete frame as (opcode, payload), if one is buffered.
    pub fn next_frame(&mut self) -> Option<Result<(u8, &[u8]), WireError>> {
        let data = &self.buf[self.start..self.end];
        if data.len() < 2 {
            return None;
        }
        let opcode = data[0] & 0x0f;
        if data[0] & 0x80 == 0 {
            return Some(Err(WireError("fragmented frames are not expected from the relay")));
        }
        if data[1] & 0x80 != 0 {
            return Some(Err(WireError("server frames must not be masked")));
        }
        let (len, header) = match data[1] & 0x7f {
            126 if data.len() >= 4 => (usize::from(u16::from_be_bytes([data[2], data[3]])), 4),
            127 if data.len() >= 10 => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(&data[2..10]);
                (usize::try_from(u64::from_be_bytes(bytes)).unwrap_or(usize::MAX), 10)
            }
            126 | 127 => return None,
            n => (usize::from(n), 2),
        };
        if data.len() < header + len {
            return None;
        }
        let at = self.start + header;
        self.start += header + len;
        Some(Ok((opcode, &self.buf[at..at + len])))
    }
}

/// A masked client frame (the relay's own encoder, `server::ws::masked`).
pub fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    server::ws::masked(0x80 | opcode, payload, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(payload: &[u8]) -> Vec<u8> {
        let mut frame = masked(TEXT, payload, [0; 4]);
        frame[1] &= 0x7f;
        let header = frame.len() - payload.len() - 4;
        frame.drain(header..header + 4);
        frame
    }

    #[test]
    fn frames_of_every_length_form_are_read_across_reads() {
        let payloads = [b"short".to_vec(), vec![b'x'; 300], vec![b'y'; 70_000]];
        let stream: Vec<u8> = payloads.iter().flat_map(|p| server_frame(p)).collect();
        let mut reader = FrameReader::new(64);
        let mut got = Vec::new();
        for chunk in stream.chunks(37) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let spare = reader.spare();
                let n = rest.len().min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                reader.filled(n);
                rest = &rest[n..];
                while let Some(frame) = reader.next_frame() {
                    let (op, payload) = frame.unwrap();
                    assert_eq!(op, TEXT);
                    got.push(payload.to_vec());
                }
            }
        }
        assert_eq!(got, payloads);
    }

    #[test]
    fn client_frames_are_masked() {
        let frame = masked(TEXT, b"abc", [1, 2, 3, 4]);
        assert_eq!(frame, [0x81, 0x83, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2, b'c' ^ 3]);
    }
}
