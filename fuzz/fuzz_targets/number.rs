//! Phone numbers as agents type them: the body of `POST /api/v1/numbers/normalize` (a
//! `NormalizeRequest`, JSON) and `server::numbers::normalize`, libphonenumber's parser behind
//! it. The same function checks every caller ID of a directory file.
//!
//! What it proves, for any text and country: nothing panics; an accepted number comes out in
//! E.164 (`+` and digits) and is a fixed point: normalising the E.164 form again, as the
//! directory check does, gives it back unchanged.
//!
//! Input: bytes 0 and 1 name the country (as two letters; an unknown pair means JP); the rest is
//! a JSON request body or, when it is not one, the number itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phonenumber::country::Id;
use protocol::NormalizeRequest;
use server::numbers::normalize;

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else { return };
    let code: String = [a, b].iter().map(|c| char::from(b'A' + *c % 26)).collect();
    let country = code.parse::<Id>().unwrap_or(Id::JP);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let number = match serde_json::from_str::<NormalizeRequest>(text) {
        Ok(request) => request.number,
        Err(_) => text.to_owned(),
    };
    let Ok(e164) = normalize(&number, country) else { return };
    assert!(
        e164.starts_with('+') && e164.len() > 1 && e164[1..].bytes().all(|c| c.is_ascii_digit()),
        "{number:?} ({code}) became {e164:?}"
    );
    assert_eq!(normalize(&e164, Id::US).as_deref(), Ok(e164.as_str()), "{number:?} ({code}) became {e164:?}");
});
