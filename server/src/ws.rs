//! The relay's own WebSocket framing (RFC 6455, server side).
//!
//! Owning the framing lets a push be framed once and written straight to every subscriber's
//! socket from the fan-out, without waking each connection's task (see `hub::Outbox::push`).
//! Client frames are read from one small buffer per connection, checked strictly (masking,
//! reserved bits, control-frame rules, size before buffering, UTF-8), and never panic on any
//! input.

use bytes::Bytes;

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    tungstenite::handshake::derive_accept_key(key)
}

/// One unmasked server frame, ready to write to any number of sockets.
pub fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 10);
    encode(&mut out, 0x80 | opcode, payload, None);
    Bytes::from(out)
}

/// A masked client frame with the given first byte (FIN, RSV and opcode bits), as a browser
/// sends it: for the load generator, the tests and the fuzzer.
pub fn masked(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    encode(&mut out, first, payload, Some(mask));
    out
}

fn encode(out: &mut Vec<u8>, first: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    out.push(first);
    let masked = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(masked | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(masked | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(masked | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(mask) => {
            out.extend_from_slice(&mask);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
    }
}

/// A close frame with a code and a short reason.
pub fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..reason.len().min(123)]);
    frame(OP_CLOSE, &payload)
}

/// A complete message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    Binary,
    Ping(Vec<u8>),
    Pong,
    Close(Option<u16>),
}

/// Why the byte stream is not an acceptable WebSocket; each maps to a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsError {
    /// 1009: a message over the size limit.
    TooBig,
    /// 1002: a protocol violation (unmasked, reserved bits, bad control frame, bad fragment).
    Protocol(&'static str),
    /// 1007: a text message that is not UTF-8.
    NotUtf8,
}

impl WsError {
    pub fn close_code(self) -> u16 {
        match self {
            Self::TooBig => 1009,
            Self::Protocol(_) => 1002,
            Self::NotUtf8 => 1007,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Self::TooBig => "frame too large",
            Self::Protocol(why) => why,
            Self::NotUtf8 => "text is not UTF-8",
        }
    }
}

/// Reads client frames from bytes as they arrive.
pub struct Reader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    initial: usize,
    max_message: usize,
    /// A fragmented message being assembled: its opcode and the payload so far.
    partial: Option<(u8, Vec<u8>)>,
}

impl Reader {
    /// A reader with an `initial`-byte buffer that accepts messages up to `max_message` bytes.
    pub fn new(initial: usize, max_message: usize) -> Self {
        Self { buf: vec![0; initial], start: 0, end: 0, initial, max_message, partial: None }
    }

    /// Starts with bytes the HTTP layer had already read past the upgrade.
    pub fn prefill(&mut self, bytes: &[u8]) {
        let spare = self.spare_for(bytes.len());
        spare[..bytes.len()].copy_from_slice(bytes);
        self.filled(bytes.len());
    }

    /// Room to read into.
    pub fn spare(&mut self) -> &mut [u8] {
        self.spare_for(1)
    }

    fn spare_for(&mut self, at_least: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // A large message grew the buffer; give the memory back once it is consumed.
            if self.buf.len() > 4 * self.initial {
                self.buf = vec![0; self.initial];
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < at_least {
            let needed = self.end + at_least.max(self.buf.len());
            self.buf.resize(needed, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Records `n` bytes read into [`Reader::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The next complete message, if the buffer holds one.
    pub fn next_message(&mut self) -> Result<Option<Incoming>, WsError> {
        loop {
            let Some((header, opcode, fin, payload_len)) = self.header()? else { return Ok(None) };
            let total = header + payload_len;
            if self.end - self.start < total {
                // Make sure the buffer can hold the whole frame; the caller reads more.
                let room = total - (self.end - self.start);
                self.spare_for(room);
                return Ok(None);
            }
            let at = self.start + header;
            let mask = [self.buf[at - 4], self.buf[at - 3], self.buf[at - 2], self.buf[at - 1]];
            let payload: Vec<u8> =
                self.buf[at..at + payload_len].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            self.start += total;
            if let Some(message) = self.assemble(opcode, fin, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Parses the next frame header: (header length, opcode, fin, payload length).
    fn header(&self) -> Result<Option<(usize, u8, bool, usize)>, WsError> {
        let data = &self.buf[self.start..self.end];
        if data.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (data[0], data[1]);
        if b0 & 0x70 != 0 {
            return Err(WsError::Protocol("reserved bits set"));
        }
        if b1 & 0x80 == 0 {
            return Err(WsError::Protocol("client frames must be masked"));
        }
        let opcode = b0 & 0x0f;
        let fin = b0 & 0x80 != 0;
        let (len, len_bytes) = match b1 & 0x7f {
            126 => {
                if data.len() < 4 {
                    return Ok(None);
                }
                (u64::from(u16::from_be_bytes([data[2], data[3]])), 2)
            }
            127 => {
                if data.len() < 10 {
                    return Ok(None);
                }
                let mut be = [0; 8];
                be.copy_from_slice(&data[2..10]);
                (u64::from_be_bytes(be), 8)
            }
            n => (u64::from(n), 0),
        };
        if opcode >= 0x8 && (!fin || len > 125) {
            return Err(WsError::Protocol("bad control frame"));
        }
        let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len());
        let len = usize::try_from(len).map_err(|_| WsError::TooBig)?;
        if len.saturating_add(so_far) > self.max_message {
            return Err(WsError::TooBig);
        }
        Ok(Some((2 + len_bytes + 4, opcode, fin, len)))
    }

    fn assemble(&mut self, opcode: u8, fin: bool, payload: Vec<u8>) -> Result<Option<Incoming>, WsError> {
        let message = match opcode {
            OP_PING => return Ok(Some(Incoming::Ping(payload))),
            OP_PONG => return Ok(Some(Incoming::Pong)),
            OP_CLOSE => {
                let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return Ok(Some(Incoming::Close(code)));
            }
            OP_TEXT | OP_BINARY if self.partial.is_some() => {
                return Err(WsError::Protocol("new message inside a fragmented one"));
            }
            OP_TEXT | OP_BINARY if !fin => {
                self.partial = Some((opcode, payload));
                return Ok(None);
            }
            OP_TEXT | OP_BINARY => (opcode, payload),
            OP_CONTINUATION => {
                let Some((first, mut so_far)) = self.partial.take() else {
                    return Err(WsError::Protocol("continuation without a message"));
                };
                so_far.extend_from_slice(&payload);
                if !fin {
                    self.partial = Some((first, so_far));
                    return Ok(None);
                }
                (first, so_far)
            }
            _ => return Err(WsError::Protocol("unknown opcode")),
        };
        match message {
            (OP_TEXT, bytes) => String::from_utf8(bytes).map(|t| Some(Incoming::Text(t))).map_err(|_| WsError::NotUtf8),
            _ => Ok(Some(Incoming::Binary)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with the given first byte (FIN, RSV and opcode bits).
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        masked(first, payload, [0x12, 0x34, 0x56, 0x78])
    }

    fn feed(reader: &mut Reader, bytes: &[u8], chunk: usize) -> Vec<Result<Incoming, WsError>> {
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk) {
            let mut rest = piece;
            while !rest.is_empty() {
                let spare = reader.spare();
                let n = rest.len().min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                reader.filled(n);
                rest = &rest[n..];
                loop {
                    match reader.next_message() {
                        Ok(Some(m)) => out.push(Ok(m)),
                        Ok(None) => break,
                        Err(e) => {
                            out.push(Err(e));
                            return out;
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn messages_of_every_length_form_arrive_whole_across_reads() {
        let big = "あ".repeat(30_000);
        let mut stream = client_frame(0x81, b"{\"type\":\"ping\",\"id\":1}");
        stream.extend(client_frame(0x81, "x".repeat(300).as_bytes()));
        stream.extend(client_frame(0x81, big.as_bytes()));
        stream.extend(client_frame(0x89, b"hb"));
        stream.extend(client_frame(0x01, b"frag"));
        stream.extend(client_frame(0x80, b"mented"));
        stream.extend(client_frame(0x88, &1000_u16.to_be_bytes()));
        for chunk in [1, 7, 4096] {
            let mut reader = Reader::new(2048, 200_000);
            let got = feed(&mut reader, &stream, chunk);
            assert_eq!(
                got,
                vec![
                    Ok(Incoming::Text("{\"type\":\"ping\",\"id\":1}".into())),
                    Ok(Incoming::Text("x".repeat(300))),
                    Ok(Incoming::Text(big.clone())),
                    Ok(Incoming::Ping(b"hb".to_vec())),
                    Ok(Incoming::Text("fragmented".into())),
                    Ok(Incoming::Close(Some(1000))),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn hostile_frames_are_refused_without_buffering_them() {
        let cases: Vec<(Vec<u8>, WsError)> = vec![
            (vec![0x81, 0x05, b'h', b'e', b'l', b'l', b'o'], WsError::Protocol("client frames must be masked")),
            (client_frame(0xC1, b"x"), WsError::Protocol("reserved bits set")),
            (client_frame(0x09, b"x"), WsError::Protocol("bad control frame")),
            (client_frame(0x89, &[0; 126]), WsError::Protocol("bad control frame")),
            (client_frame(0x80, b"x"), WsError::Protocol("continuation without a message")),
            (client_frame(0x83, b"x"), WsError::Protocol("unknown opcode")),
            (client_frame(0x81, &[0xff, 0xfe]), WsError::NotUtf8),
            (vec![0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], WsError::TooBig),
            (vec![0x81, 0xfe, 0xff, 0xff], WsError::TooBig),
        ];
        for (bytes, expected) in cases {
            let mut reader = Reader::new(64, 1024);
            let got = feed(&mut reader, &bytes, 3);
            assert_eq!(got.last(), Some(&Err(expected)), "{bytes:02x?}");
        }
        let mut reader = Reader::new(64, 1024);
        let mut two = client_frame(0x01, b"a");
        two.extend(client_frame(0x81, b"b"));
        assert!(feed(&mut reader, &two, 100).last().is_some_and(Result::is_err), "message inside a fragment");
    }

    #[test]
    fn server_frames_use_the_shortest_length_form() {
        assert_eq!(&frame(OP_TEXT, b"hi")[..], [0x81, 2, b'h', b'i']);
        assert_eq!(frame(OP_TEXT, &[0; 200])[..4], [0x81, 126, 0, 200]);
        assert_eq!(frame(OP_TEXT, &[0; 70_000])[..2], [0x81, 127]);
        assert_eq!(&close_frame(4002, "slow")[..], [0x88, 6, 0x0f, 0xa2, b's', b'l', b'o', b'w']);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_grow_past_the_limit() {
        // Deterministic random inputs: frames with random headers, lengths, masks and bodies,
        // fed in random chunk sizes. The reader must answer or refuse, never panic or hoard.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let len = (next() % 300) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 && bytes.len() > 2 {
                bytes[1] |= 0x80; // usually masked, to get past the first check
            }
            let mut reader = Reader::new(16, 256);
            let chunk = 1 + (next() % 64) as usize;
            for message in feed(&mut reader, &bytes, chunk) {
                if let Ok(Incoming::Text(text)) = message {
                    assert!(text.len() <= 256);
                }
            }
            assert!(reader.buf.len() <= 16 + 256 + 14 + 64, "buffer grew to {}", reader.buf.len());
        }
    }

    #[test]
    fn the_buffer_shrinks_after_a_large_message() {
        let mut reader = Reader::new(64, 100_000);
        let got = feed(&mut reader, &client_frame(0x81, &[b'a'; 50_000]), 4096);
        assert_eq!(got.len(), 1);
        reader.spare();
        assert_eq!(reader.buf.len(), 64);
    }
}
