//! Splitting an inline command line into arguments, with the quoting
//! rules redis-cli and Redis use: double quotes with backslash escapes,
//! single quotes with only `\'`.

use bytes::Bytes;

use crate::error::ProtocolError;

pub(crate) fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let unbalanced = || ProtocolError("unbalanced quotes in request".into());
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut current = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err(unbalanced());
                    };
                    match c {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' if i + 1 < line.len() => {
                            let next = line[i + 1];
                            if next == b'x' && i + 3 < line.len() {
                                if let Some(byte) = hex_byte(line[i + 2], line[i + 3]) {
                                    current.push(byte);
                                    i += 4;
                                    continue;
                                }
                            }
                            current.push(match next {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                other => other,
                            });
                            i += 2;
                        }
                        other => {
                            current.push(other);
                            i += 1;
                        }
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err(unbalanced());
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err(unbalanced());
                    };
                    match c {
                        b'\'' => {
                            i += 1;
                            break;
                        }
                        b'\\' if line.get(i + 1) == Some(&b'\'') => {
                            current.push(b'\'');
                            i += 2;
                        }
                        other => {
                            current.push(other);
                            i += 1;
                        }
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err(unbalanced());
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    current.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(current));
    }
    Ok(args)
}

fn hex_byte(a: u8, b: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    Some((digit(a)? * 16 + digit(b)?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_rules() {
        let args = split_inline(br#"EXECUTE q "a b" 'it\'s' "\x41\n" plain"#).unwrap();
        let args: Vec<&[u8]> = args.iter().map(|b| b.as_ref()).collect();
        assert_eq!(args, vec![&b"EXECUTE"[..], b"q", b"a b", b"it's", b"A\n", b"plain"]);
        assert!(split_inline(b"ECHO \"open").is_err());
        assert!(split_inline(b"ECHO \"a\"b").is_err());
    }
}
