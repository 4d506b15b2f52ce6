//! Fuzzing of every xdesk parser that reads untrusted input, on stable Rust.
//!
//! There is no libFuzzer on the stable toolchain, so this is a plain mutational fuzzer: each
//! target ([`targets::all`]) has seed inputs (valid examples from the crates' own tests and
//! specs, so mutations start deep inside the parser), a dictionary of tokens its format uses,
//! and worst-case inputs of 64 KiB written by hand (digit runs, one word repeated, deep
//! nesting), because random mutation rarely builds the input that makes a scan quadratic.
//! The engine ([`run`]) mutates seeds and recent mutants on a seeded PRNG (bit flips, byte
//! inserts and deletes, dictionary tokens, splices with other seeds, chunks repeated up to
//! 64 KiB). It is **not coverage-guided**: it cannot see which branches an input reached, so
//! it relies on its seeds and dictionaries instead.
//!
//! Every input runs under `catch_unwind` and is timed. A failure is a panic, or more than
//! [`TIME_LIMIT`] for one input of at most [`MAX_INPUT`] bytes (confirmed by running the input
//! again, the fastest of three runs counting, so a busy machine does not make one). A hang is
//! caught by a watchdog thread in the command-line runner. Failing inputs are written to
//! `$CARGO_TARGET_DIR/fuzz-failures/<target>-<hash>.bin` (or `target/…`).

/// xdesk-ui's Markdown renderer (`xdesk_ui::markdown::to_html`), compiled here from its own
/// source file: the same code, with only its two dependencies (pulldown-cmark, ammonia), instead
/// of xdesk-ui's whole database, web and search stack.
#[path = "../../xdesk-ui/src/markdown.rs"]
pub mod markdown;
pub mod targets;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// The largest input the engine makes, and the size the time limit is promised for.
pub const MAX_INPUT: usize = 64 * 1024;

/// The most one input of up to [`MAX_INPUT`] bytes may take, in an optimised build.
pub const TIME_LIMIT: Duration = Duration::from_millis(50);

/// The limit for this build: unoptimised test builds of the workspace's crates run many times
/// slower than release, so there the short run catches panics and gross (quadratic) slowness
/// only.
pub fn time_limit() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_millis(1500)
    } else {
        TIME_LIMIT
    }
}

/// One fuzz target: a parser fed with bytes.
pub struct Target {
    pub name: &'static str,
    /// What it calls, for the report.
    pub about: &'static str,
    pub run: fn(&[u8]),
    pub seeds: Vec<Vec<u8>>,
    /// Tokens of the input's format, inserted by the mutator.
    pub dict: Vec<Vec<u8>>,
    /// Adversarial inputs, run once each at the start.
    pub worst: Vec<Vec<u8>>,
}

/// Targets that take several strings split their input at this byte.
pub const SEP: u8 = 0;

/// The parts of an input split at [`SEP`], each as text (invalid UTF-8 replaced).
pub fn fields(data: &[u8]) -> Vec<String> {
    data.split(|b| *b == SEP)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// The input as text (invalid UTF-8 replaced).
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// A small, fast PRNG (SplitMix64 seeding xorshift64*): reproducible from `--seed`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Bytes the mutator likes: separators and delimiters of the formats under test.
const INTERESTING: &[u8] =
    b"\0\n\r\t :;.,@/\\-_=+?#%&<>[](){}\"'*`|~!$^0123456789aAzZxX\x7f\x80\xc3\xe4\xff";

/// Characters that trip Unicode handling: CJK (BIP-39 Chinese words among them), full-width
/// digits and punctuation, combining marks, right-to-left, zero-width, non-characters.
const UNICODE: &[&str] = &[
    "的",
    "一",
    "是",
    "助记词",
    "私钥",
    "验证码",
    "。",
    "，",
    "：",
    "１",
    "．",
    "\u{3000}",
    "\u{a0}",
    "\u{2009}",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{301}",
    "\u{fe0f}",
    "\u{feff}",
    "\u{fffd}",
    "𠀀",
    "😀",
    "ß",
    "İ",
    "ﬃ",
    "Σ",
    "а",
    "ο",
    "xn--",
    "\u{10ffff}",
];

/// Changes `data` in place by one to eight random edits, keeping it at most [`MAX_INPUT`].
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, dict: &[Vec<u8>], others: &[Vec<u8>]) {
    let edits = 1 + rng.below(8);
    for _ in 0..edits {
        let len = data.len();
        match rng.below(16) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(4);
                for _ in 0..n {
                    let b = if rng.chance(2) {
                        INTERESTING[rng.below(INTERESTING.len())]
                    } else {
                        (rng.next_u64() & 0xff) as u8
                    };
                    data.insert(i.min(data.len()), b);
                }
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let max = if rng.chance(4) { 256 } else { 8 };
                let n = 1 + rng.below((len - i).min(max));
                data.drain(i..i + n);
            }
            4..=6 => {
                if let Some(tok) = rng.pick(dict) {
                    let i = rng.below(len + 1);
                    data.splice(i..i, tok.iter().copied());
                }
            }
            7 if len > 0 => {
                // Replace a range with a dictionary token.
                if let Some(tok) = rng.pick(dict) {
                    let i = rng.below(len);
                    let n = rng.below((len - i).min(16) + 1);
                    data.splice(i..i + n, tok.iter().copied());
                }
            }
            8 if len > 1 => {
                // Copy a chunk elsewhere.
                let a = rng.below(len);
                let n = 1 + rng.below((len - a).min(64));
                let chunk = data[a..a + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            9 => {
                // Splice with another input: this one's head, the other's tail.
                if let Some(o) = rng.pick(others) {
                    let cut = rng.below(len + 1);
                    let from = rng.below(o.len() + 1);
                    data.truncate(cut);
                    data.extend_from_slice(&o[from..]);
                }
            }
            10 => {
                let u = UNICODE[rng.below(UNICODE.len())].as_bytes();
                let i = char_boundary(data, rng.below(len + 1));
                data.splice(i..i, u.iter().copied());
            }
            11 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                for b in &mut data[i..i + n] {
                    if b.is_ascii_alphabetic() {
                        *b ^= 0x20;
                    }
                }
            }
            12 if len > 0 => {
                // A number somewhere: boundary values of the integer types and dates.
                const NUMS: &[&[u8]] = &[
                    b"0",
                    b"-1",
                    b"00000000",
                    b"4294967295",
                    b"4294967296",
                    b"9223372036854775807",
                    b"9223372036854775808",
                    b"18446744073709551616",
                    b"99999999",
                    b"00010101",
                    b"99991231",
                    b"20261231",
                    b"1e308",
                    b"340282366920938463463374607431768211456",
                ];
                let i = rng.below(len);
                let n = rng.below((len - i).min(12) + 1);
                data.splice(i..i + n, NUMS[rng.below(NUMS.len())].iter().copied());
            }
            13 if len > 0 && rng.chance(16) => {
                // Repeat a chunk many times: long runs are where scans go quadratic.
                let a = rng.below(len);
                let n = 1 + rng.below((len - a).min(48));
                let chunk = data[a..a + n].to_vec();
                let times = if rng.chance(8) {
                    MAX_INPUT / n
                } else {
                    1 + rng.below(256)
                };
                let mut rep = Vec::with_capacity(n * times);
                for _ in 0..times {
                    rep.extend_from_slice(&chunk);
                }
                data.splice(a..a, rep);
            }
            14 if len > 0 => {
                let cut = rng.below(len);
                data.truncate(cut);
            }
            15 if len > 1 => {
                let a = rng.below(len);
                let b = rng.below(len);
                data.swap(a, b);
            }
            _ => {}
        }
        data.truncate(MAX_INPUT);
    }
}

/// `at` moved back to a UTF-8 character boundary when the bytes around it are text.
fn char_boundary(data: &[u8], mut at: usize) -> usize {
    while at > 0 && at < data.len() && (data[at] & 0xc0) == 0x80 {
        at -= 1;
    }
    at
}

/// How one input went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(Duration),
    Panic(String),
}

static HOOK: Once = Once::new();
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Panics are expected here (they are what is looked for): the default hook's message on
/// stderr for each is replaced by a record of the last one.
fn quiet_panics() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let mut last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
            *last = info.to_string();
        }));
    });
}

/// Runs one input, catching a panic and measuring the time.
pub fn run_one(f: fn(&[u8]), data: &[u8]) -> Outcome {
    quiet_panics();
    let start = Instant::now();
    match catch_unwind(AssertUnwindSafe(|| f(data))) {
        Ok(()) => Outcome::Ok(start.elapsed()),
        Err(_) => {
            let last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
            Outcome::Panic(last.clone())
        }
    }
}

/// The fastest of `n` runs (None if one panics).
pub fn fastest_of(f: fn(&[u8]), data: &[u8], n: usize) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for _ in 0..n.max(1) {
        match run_one(f, data) {
            Outcome::Ok(t) => best = Some(best.map_or(t, |b| b.min(t))),
            Outcome::Panic(_) => return None,
        }
    }
    best
}

/// A failing input.
#[derive(Debug, Clone)]
pub struct Failure {
    pub target: &'static str,
    pub what: String,
    pub len: usize,
    pub saved: Option<PathBuf>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({} bytes", self.target, self.what, self.len)?;
        match &self.saved {
            Some(p) => write!(f, ", saved as {})", p.display()),
            None => write!(f, ", not saved)"),
        }
    }
}

/// What a run of one target found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub inputs: u64,
    pub total: Duration,
    pub slowest: Duration,
    pub slowest_len: usize,
    pub largest: usize,
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        let s = self.total.as_secs_f64();
        if s > 0.0 { self.inputs as f64 / s } else { 0.0 }
    }
}

/// FNV-1a, for failure file names.
pub fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where failing inputs go: `$CARGO_TARGET_DIR/fuzz-failures`, else the workspace's
/// `target/fuzz-failures`.
pub fn failure_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("fuzz-failures")
}

/// Saves a failing input; its path, if writing worked.
pub fn save(target: &str, data: &[u8]) -> Option<PathBuf> {
    let dir = failure_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{target}-{:016x}.bin", fnv(data)));
    std::fs::write(&path, data).ok()?;
    Some(path)
}

/// What the runner's watchdog sees: when the current input started, its target, the input.
pub type Slot = Arc<Mutex<(Instant, &'static str, Vec<u8>)>>;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub inputs: u64,
    pub seed: u64,
    pub limit: Duration,
    /// Stop a target after this many failures (the rest are likely the same bug).
    pub max_failures: usize,
    /// Where the runner's watchdog can see the input being run (for a hang report).
    pub current: Option<Slot>,
}

impl Config {
    pub fn new(inputs: u64, seed: u64) -> Config {
        Config {
            inputs,
            seed,
            limit: time_limit(),
            max_failures: 5,
            current: None,
        }
    }
}

/// Pool of recent mutants mutated further, so edits stack up (the engine's only memory).
const POOL: usize = 64;
/// Mutants bigger than this are run but not kept in the pool: most inputs stay small.
const POOL_MAX_LEN: usize = 4096;

/// Fuzzes one target: its seeds and worst cases first, then `cfg.inputs` inputs in all.
pub fn run(target: &Target, cfg: &Config) -> Report {
    let mut rng = Rng::new(cfg.seed ^ fnv(target.name.as_bytes()));
    let mut report = Report::default();
    let mut pool: Vec<Vec<u8>> = target.seeds.clone();
    let fixed: Vec<&Vec<u8>> = target.seeds.iter().chain(&target.worst).collect();
    let mut input = Vec::new();
    let mut n: u64 = 0;
    while n < cfg.inputs {
        if let Some(first) = fixed.get(n as usize) {
            input.clone_from(first);
        } else {
            let base = if pool.is_empty() || rng.chance(4) {
                rng.pick(&target.seeds).cloned().unwrap_or_default()
            } else {
                pool[rng.below(pool.len())].clone()
            };
            input = base;
            mutate(&mut rng, &mut input, &target.dict, &target.seeds);
        }
        n += 1;
        if let Some(cur) = &cfg.current {
            let mut c = cur.lock().unwrap_or_else(|e| e.into_inner());
            c.0 = Instant::now();
            c.1 = target.name;
            c.2.clone_from(&input);
        }
        let outcome = run_one(target.run, &input);
        report.inputs += 1;
        report.largest = report.largest.max(input.len());
        match outcome {
            Outcome::Ok(t) => {
                report.total += t;
                let mut t = t;
                if t > cfg.limit && input.len() <= MAX_INPUT {
                    // Confirm: a preempted run is not a slow parser.
                    t = fastest_of(target.run, &input, 3).unwrap_or(t);
                    if t > cfg.limit {
                        report.failures.push(Failure {
                            target: target.name,
                            what: format!("{t:?} for one input (limit {:?})", cfg.limit),
                            len: input.len(),
                            saved: save(target.name, &input),
                        });
                    }
                }
                if t > report.slowest {
                    report.slowest = t;
                    report.slowest_len = input.len();
                }
            }
            Outcome::Panic(msg) => report.failures.push(Failure {
                target: target.name,
                what: format!("panic: {msg}"),
                len: input.len(),
                saved: save(target.name, &input),
            }),
        }
        if report.failures.len() >= cfg.max_failures {
            break;
        }
        if input.len() <= POOL_MAX_LEN {
            if pool.len() < POOL {
                pool.push(input.clone());
            } else {
                let i = rng.below(POOL);
                pool[i].clone_from(&input);
            }
        }
    }
    if let Some(cur) = &cfg.current {
        let mut c = cur.lock().unwrap_or_else(|e| e.into_inner());
        c.1 = "";
    }
    report
}

/// `text` repeated to exactly [`MAX_INPUT`] bytes or just under (whole repetitions).
pub fn fill(unit: &str) -> Vec<u8> {
    fill_to(unit, MAX_INPUT)
}

/// `text` repeated to at most `size` bytes (whole repetitions).
pub fn fill_to(unit: &str, size: usize) -> Vec<u8> {
    if unit.is_empty() {
        return Vec::new();
    }
    unit.repeat(size / unit.len()).into_bytes()
}

/// `head`, then `unit` repeated, then `tail`, at most [`MAX_INPUT`] bytes in all.
pub fn framed(head: &str, unit: &str, tail: &str) -> Vec<u8> {
    let room = MAX_INPUT.saturating_sub(head.len() + tail.len());
    let mut out = head.as_bytes().to_vec();
    out.extend(fill_to(unit, room));
    out.extend_from_slice(tail.as_bytes());
    out
}
