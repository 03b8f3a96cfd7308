//! Phone numbers as agents type them, checked and normalised to E.164 with libphonenumber's
//! metadata (the `phonenumber` crate) before anything is dialled.

use phonenumber::Mode;
use phonenumber::country::Id;

/// The longest input considered; anything longer is not a phone number.
const MAX_INPUT: usize = 64;

/// Why a number cannot be dialled. The messages are for the agent and never echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("enter a phone number")]
    Empty,
    #[error("this is not a phone number")]
    NotANumber,
    #[error("this number is not valid in its country; check the digits or add the country code with +")]
    Invalid,
}

/// `input` in E.164 (`+81312345678`). National formats are read as numbers of `country`.
pub fn normalize(input: &str, country: Id) -> Result<String, NumberError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(NumberError::Empty);
    }
    let plausible = input.len() <= MAX_INPUT
        && input.chars().any(|c| c.is_ascii_digit())
        && input.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !plausible {
        return Err(NumberError::NotANumber);
    }
    // A number with its country code is read without a default region: with one (US, say) the
    // parser misreads international numbers whose national part starts with 1
    // (+81 11..., +44 1..., +86 13...) and calls them invalid. Found by the `number` fuzz target.
    let region = if input.starts_with('+') { None } else { Some(country) };
    let number = phonenumber::parse(region, input).map_err(|_| NumberError::NotANumber)?;
    if !phonenumber::is_valid(&number) {
        return Err(NumberError::Invalid);
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_international_forms_become_e164() {
        for (typed, e164) in [
            ("03-1234-5678", "+81312345678"),
            ("0312345678", "+81312345678"),
            ("(03) 1234 5678", "+81312345678"),
            ("090-1234-5678", "+819012345678"),
            ("+81 11-234-1267", "+81112341267"),
            ("+81 3-1234-5678", "+81312345678"),
            ("+1 (206) 555-0100", "+12065550100"),
            (" 06-6123-4567 ", "+81661234567"),
        ] {
            assert_eq!(normalize(typed, Id::JP).as_deref(), Ok(e164), "{typed}");
        }
        assert_eq!(normalize("(206) 555-0100", Id::US).as_deref(), Ok("+12065550100"));
        // International numbers whose national part starts with 1, read where the default is US.
        for e164 in ["+81112341267", "+441481807807", "+8613812345678"] {
            assert_eq!(normalize(e164, Id::US).as_deref(), Ok(e164), "{e164}");
        }
    }

    #[test]
    fn what_cannot_be_dialled_says_why() {
        assert_eq!(normalize("  ", Id::JP), Err(NumberError::Empty));
        assert_eq!(normalize("call me", Id::JP), Err(NumberError::NotANumber));
        assert_eq!(normalize("03-1234-5678; DROP", Id::JP), Err(NumberError::NotANumber));
        assert_eq!(normalize(&"1".repeat(100), Id::JP), Err(NumberError::NotANumber));
        assert_eq!(normalize("03-1234", Id::JP), Err(NumberError::Invalid));
        assert!(normalize("+81 00-0000-0000", Id::JP).is_err());
    }
}
