//! The mutator: a seedable random number generator and edits that break a file the way people,
//! editors, merges, torn writes and hostile agents do (flipped bits, cut lines, duplicated lines,
//! NUL and invalid UTF-8, huge numbers, deep nesting, CRLF, a byte-order mark, conflict markers,
//! very long lines, pieces of other inputs).

/// The largest input an edit leaves: larger ones are cut, so one input stays cheap to check.
pub(super) const MAX_LEN: usize = 512 * 1024;

/// SplitMix64: tiny, fast and the same on every machine, so a seed reproduces its inputs.
pub(super) struct Rng(u64);

impl Rng {
    /// A generator whose whole sequence follows from `seed`.
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`, which must not be empty.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The finaliser of SplitMix64: spreads the bits of `x` over the whole word.
pub(super) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What mutations draw on: the inputs to start from and splice in, and tokens of the format.
pub(super) struct Pool<'a> {
    /// Seeds and corpus files; never empty.
    pub inputs: &'a [Vec<u8>],
    /// Fragments of the parser's format (keys, brackets, markers).
    pub dictionary: &'a [&'a str],
}

/// One edit of an input, in place.
type Edit = fn(&mut Rng, &mut Vec<u8>, &Pool<'_>);

/// Every edit with the name a failure report shows.
const EDITS: [(&str, Edit); 21] = [
    ("flip a bit", flip_bit),
    ("set a byte", set_byte),
    ("insert random bytes", insert_random),
    ("delete bytes", delete_range),
    ("cut at a byte", cut_at_byte),
    ("cut at a line", cut_at_line),
    ("duplicate a line", duplicate_line),
    ("delete a line", delete_line),
    ("swap two lines", swap_lines),
    ("insert NUL", insert_nul),
    ("insert invalid UTF-8", insert_invalid_utf8),
    ("huge number", huge_number),
    ("deep nesting", deep_nesting),
    ("line endings", line_endings),
    ("byte-order mark", byte_order_mark),
    ("conflict markers", conflict_markers),
    ("long line", long_line),
    ("splice another input", splice),
    ("line of another input", foreign_line),
    ("dictionary token", dictionary_token),
    ("repeat a chunk", repeat_chunk),
];

/// A mutated copy of one of the pool's inputs, and the names of the edits made to it.
pub(super) fn mutate(rng: &mut Rng, pool: &Pool<'_>) -> (Vec<u8>, Vec<&'static str>) {
    let source = rng.below(pool.inputs.len());
    let mut data = pool.inputs[source].clone();
    let mut steps = Vec::new();
    for _ in 0..=rng.below(4) {
        let (name, edit) = rng.pick(&EDITS);
        edit(rng, &mut data, pool);
        data.truncate(MAX_LEN);
        steps.push(*name);
    }
    (data, steps)
}

/// The byte offset where each line starts (0 first), and the end of the data last.
pub(super) fn line_starts(data: &[u8]) -> Vec<usize> {
    let mut res = vec![0];
    res.extend(memchr::memchr_iter(b'\n', data).map(|at| at + 1));
    if res.last() != Some(&data.len()) {
        res.push(data.len());
    }
    res
}

/// `data` with a CR before every LF.
pub(super) fn with_crlf(data: &[u8]) -> Vec<u8> {
    let mut res = Vec::with_capacity(data.len() + data.len() / 16);
    for &byte in data {
        if byte == b'\n' {
            res.push(b'\r');
        }
        res.push(byte);
    }
    res
}

/// A random offset in `0..=data.len()`.
fn offset(rng: &mut Rng, data: &[u8]) -> usize {
    rng.below(data.len() + 1)
}

/// The byte range of a random line (its line break included).
fn random_line(rng: &mut Rng, data: &[u8]) -> std::ops::Range<usize> {
    let starts = line_starts(data);
    if starts.len() < 2 {
        return 0..data.len();
    }
    let idx = rng.below(starts.len() - 1);
    starts[idx]..starts[idx + 1]
}

/// A random line start (or the end of the data).
fn line_boundary(rng: &mut Rng, data: &[u8]) -> usize {
    *rng.pick(&line_starts(data))
}

fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    data.splice(at..at, bytes.iter().copied());
}

fn flip_bit(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    if data.is_empty() {
        data.push(rng.next_u64() as u8);
        return;
    }
    let at = rng.below(data.len());
    data[at] ^= 1 << rng.below(8);
}

/// Bytes that mean something to one format or another.
const INTERESTING: &[u8] = b"\0\x7f\x80\xff\n\r\t \"'\\{}[]:,-#=`*&!|>%@?~.0123456789";

fn set_byte(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let byte = *rng.pick(INTERESTING);
    if data.is_empty() {
        data.push(byte);
        return;
    }
    let at = rng.below(data.len());
    data[at] = byte;
}

fn insert_random(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let bytes: Vec<u8> = (0..=rng.below(8)).map(|_| rng.next_u64() as u8).collect();
    let at = offset(rng, data);
    insert(data, at, &bytes);
}

fn delete_range(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let at = rng.below(data.len());
    let end = (at + 1 + rng.below(64)).min(data.len());
    data.drain(at..end);
}

fn cut_at_byte(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let at = offset(rng, data);
    data.truncate(at);
}

fn cut_at_line(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let at = line_boundary(rng, data);
    data.truncate(at);
}

fn duplicate_line(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let line = random_line(rng, data);
    let copy = data[line.clone()].to_vec();
    insert(data, line.end, &copy);
}

fn delete_line(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let line = random_line(rng, data);
    data.drain(line);
}

fn swap_lines(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let (a, b) = (random_line(rng, data), random_line(rng, data));
    let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
    if first.end > second.start {
        return;
    }
    let mut res = data[..first.start].to_vec();
    res.extend_from_slice(&data[second.clone()]);
    res.extend_from_slice(&data[first.end..second.start]);
    res.extend_from_slice(&data[first]);
    res.extend_from_slice(&data[second.end..]);
    *data = res;
}

fn insert_nul(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let at = offset(rng, data);
    insert(data, at, b"\0");
}

/// Sequences no UTF-8 decoder may accept: stray bytes, a lone lead byte, a surrogate, an
/// overlong slash, a code point past U+10FFFF, a cut three-byte character.
const INVALID_UTF8: [&[u8]; 6] = [
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
];

fn insert_invalid_utf8(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let bytes = *rng.pick(&INVALID_UTF8);
    let at = offset(rng, data);
    insert(data, at, bytes);
}

/// Numbers at and past the edges of the integer and float types.
const HUGE_NUMBERS: [&str; 14] = [
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "-1",
    "-9223372036854775809",
    "4294967296",
    "256",
    "1e309",
    "-0",
    "0.000000000000000000000000000001",
    "NaN",
    ".inf",
    "0x7fffffffffffffff",
    "1_000_000",
];

/// Replace a run of digits (or insert a number where there is none).
fn huge_number(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let number = rng.pick(&HUGE_NUMBERS).as_bytes();
    let digits: Vec<usize> = (0..data.len())
        .filter(|&at| data[at].is_ascii_digit() && (at == 0 || !data[at - 1].is_ascii_digit()))
        .collect();
    if digits.is_empty() {
        let at = offset(rng, data);
        insert(data, at, number);
        return;
    }
    let start = *rng.pick(&digits);
    let len = data[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    data.splice(start..start + len, number.iter().copied());
}

/// Openers (and their closers) that nest in JSON, YAML, TOML and markdown.
const NESTING: [(&str, &str); 7] = [
    ("[", "]"),
    ("{", "}"),
    ("- ", ""),
    ("{\"a\":", "}"),
    ("  ", ""),
    ("> ", ""),
    ("[[", "]]"),
];

fn deep_nesting(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let (open, close) = *rng.pick(&NESTING);
    let depth = *rng.pick(&[64, 200, 1_000, 20_000]);
    let mut nest = open.repeat(depth);
    if rng.below(2) == 0 {
        nest.push_str(&close.repeat(depth));
    }
    let at = offset(rng, data);
    insert(data, at, nest.as_bytes());
}

/// CRLF everywhere, lone CRs everywhere, or one stray CR.
fn line_endings(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    match rng.below(3) {
        0 => *data = with_crlf(data),
        1 => data
            .iter_mut()
            .filter(|b| **b == b'\n')
            .for_each(|b| *b = b'\r'),
        _ => {
            let at = offset(rng, data);
            insert(data, at, b"\r");
        }
    }
}

/// A UTF-8 byte-order mark at the start (twice, sometimes), in the middle, or a UTF-16 one.
fn byte_order_mark(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let (at, mark): (usize, &[u8]) = match rng.below(4) {
        0 | 1 => (0, b"\xef\xbb\xbf"),
        2 => (offset(rng, data), b"\xef\xbb\xbf"),
        _ => (0, b"\xff\xfe"),
    };
    insert(data, at, mark);
    if rng.below(8) == 0 {
        insert(data, 0, b"\xef\xbb\xbf");
    }
}

/// An unresolved merge conflict around two lines of the input.
fn conflict_markers(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let ours = data[random_line(rng, data)].to_vec();
    let theirs = data[random_line(rng, data)].to_vec();
    let mut block = b"<<<<<<< HEAD\n".to_vec();
    block.extend_from_slice(&ours);
    block.extend_from_slice(b"=======\n");
    block.extend_from_slice(&theirs);
    block.extend_from_slice(b">>>>>>> other-branch\n");
    let at = line_boundary(rng, data);
    insert(data, at, &block);
}

fn long_line(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    let unit = *rng.pick(&["a", " ", "#", "-", "{", "\"", "\t", "é", "a,", "{{", "\\"]);
    let len = *rng.pick(&[1_000, 10_000, 100_000]);
    let at = offset(rng, data);
    insert(data, at, unit.repeat(len).as_bytes());
}

/// Up to 4 KiB of another input, inserted anywhere.
fn splice(rng: &mut Rng, data: &mut Vec<u8>, pool: &Pool<'_>) {
    let other = rng.pick(pool.inputs);
    let start = rng.below(other.len());
    let end = (start + 1 + rng.below(4096)).min(other.len());
    let at = offset(rng, data);
    insert(data, at, &other[start..end]);
}

/// A line of another input in place of one of this input's lines.
fn foreign_line(rng: &mut Rng, data: &mut Vec<u8>, pool: &Pool<'_>) {
    let other = rng.pick(pool.inputs);
    let line = other[random_line(rng, other)].to_vec();
    let ours = random_line(rng, data);
    data.splice(ours, line);
}

fn dictionary_token(rng: &mut Rng, data: &mut Vec<u8>, pool: &Pool<'_>) {
    if pool.dictionary.is_empty() {
        return;
    }
    let token = rng.pick(pool.dictionary).as_bytes();
    let at = if rng.below(2) == 0 {
        line_boundary(rng, data)
    } else {
        offset(rng, data)
    };
    insert(data, at, token);
}

/// A short chunk repeated many times in place: what makes quadratic code show itself.
fn repeat_chunk(rng: &mut Rng, data: &mut Vec<u8>, _: &Pool<'_>) {
    if data.is_empty() {
        return;
    }
    let start = rng.below(data.len());
    let end = (start + 1 + rng.below(32)).min(data.len());
    let times = *rng.pick(&[2, 10, 100, 1_000, 10_000]);
    let chunk = data[start..end].repeat(times);
    data.splice(start..end, chunk);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_its_inputs() {
        let inputs = [
            b"---\ntitle: x\n---\nbody\n".to_vec(),
            b"{\"a\": 1}\n".to_vec(),
        ];
        let pool = Pool {
            inputs: &inputs,
            dictionary: &["---", "title:"],
        };
        let run = |seed: u64| -> Vec<(Vec<u8>, Vec<&str>)> {
            let mut rng = Rng::new(seed);
            (0..200).map(|_| mutate(&mut rng, &pool)).collect()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let mutated = run(7);
        assert!(mutated.iter().all(|(data, _)| data.len() <= MAX_LEN));
        assert!(
            mutated.iter().any(|(data, _)| !inputs.contains(data)),
            "mutations change inputs"
        );
    }

    #[test]
    fn lines_are_found_with_their_breaks() {
        assert_eq!(line_starts(b""), vec![0]);
        assert_eq!(line_starts(b"a\nbc\n"), vec![0, 2, 5]);
        assert_eq!(line_starts(b"a\nbc"), vec![0, 2, 4]);
        let mut data = b"one\ntwo\nthree\n".to_vec();
        swap_lines(
            &mut Rng::new(3),
            &mut data,
            &Pool {
                inputs: &[],
                dictionary: &[],
            },
        );
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        lines.sort_unstable();
        assert_eq!(lines, [&b""[..], b"one", b"three", b"two"]);
    }
}
