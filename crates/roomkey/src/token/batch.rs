//! `roomkey token batch`: many tokens from a CSV or JSON Lines file, on every core, in input
//! order, with bounded memory.
//!
//! One thread reads rows and cuts them into chunks; workers turn each chunk into output lines
//! (parse, build, sign, format); the calling thread writes the chunks back in their input order.
//! At most a few chunks per worker are in flight, so memory does not grow with the input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead as _, BufReader, BufWriter, IsTerminal as _, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result, bail};
use roomkey_token::{AccessToken, KeyPair};

use super::batch_input::{Chunk, Reader, open_input};
use super::batch_rows::{Column, Row, column};
use super::flags::TokenFlags;
use super::join_link::{JoinLink, JoinLinkArgs};
use crate::credentials::{KeyArgs, env_var};
use crate::output::safe;

/// Chunks waiting for a worker, per worker.
const QUEUED_PER_WORKER: usize = 2;

/// Rows reported one by one with --skip-invalid before the rest are only counted.
const REPORTED_ROWS: usize = 100;

/// Mint many tokens from a file of rows (CSV or JSON Lines), on every core
#[derive(Debug, clap::Args)]
#[command(after_long_help = BATCH_EXAMPLES)]
pub(crate) struct BatchArgs {
    /// The rows: a CSV file with a header row, or JSON Lines (one object per line); "-" reads
    /// standard input. Columns or keys: identity, name, room, metadata, attributes (a JSON
    /// object), ttl, and any grant by its flag name (can-publish, room-admin, allow-source, …);
    /// an empty cell (or null) keeps the default from the flags
    #[arg(long, short = 'i', value_name = "FILE|-", default_value = "-")]
    input: PathBuf,

    /// The input's format [default: from the file's extension, else JSON Lines if the first
    /// character is `{`]
    #[arg(long, value_enum, value_name = "FORMAT")]
    input_format: Option<Format>,

    /// Where the tokens go: a file (written under a temporary name and renamed when complete,
    /// so a failure never leaves half a file), or "-" for standard output
    #[arg(long, short = 'o', value_name = "FILE|-", default_value = "-")]
    output: PathBuf,

    /// The output's format: JSON Lines (token, identity, room, expires_at, join_url) or CSV
    /// with those columns [default: from the output file's extension, else jsonl]
    #[arg(long, value_enum, value_name = "FORMAT")]
    output_format: Option<Format>,

    /// Report invalid rows on stderr and go on without them (exit 1 at the end if any was
    /// skipped); without it, the first invalid row stops the batch
    #[arg(long)]
    skip_invalid: bool,

    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,

    #[command(flatten)]
    link: JoinLinkArgs,

    /// The LiveKit server URL for join links [env: LIVEKIT_URL]
    #[arg(long, value_name = "URL", help_heading = "Output")]
    url: Option<String>,

    #[command(flatten)]
    defaults: TokenFlags,

    #[command(flatten)]
    keys: KeyArgs,

    /// No progress bar and no summary line
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Sign as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

// Each line of an example is at most 39 columns (see `help_width` in main.rs).
const BATCH_EXAMPLES: &str = "\
Examples:
  A classroom, one token per student,
  as JSON Lines:
    printf '%s\\n' identity,name \\
      student-1,Ada student-2,Grace \\
      > class.csv
    roomkey token batch \\
      --input class.csv \\
      --room physics-101 --ttl 2h \\
      --output tokens.jsonl
  Viewers from JSON Lines, with join
  links, as CSV:
    roomkey token batch \\
      --input viewers.jsonl \\
      --room town-hall \\
      --can-publish=false --join-url \\
      --url wss://acme.livekit.cloud \\
      --output links.csv
  Per-row grants override the flags:
    printf '%s\\n' \\
      identity,can-publish \\
      host,true guest,false |
      roomkey token batch --room r";

/// A file format of rows or results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Comma-separated values with a header row
    Csv,
    /// One JSON object per line
    Jsonl,
}

impl Format {
    fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// Some rows were invalid: exit code 1. Either the first stopped the batch (and nothing was
/// written), or with --skip-invalid they were left out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidRows {
    /// The first invalid row, which stopped the batch.
    #[error("{0}; no output was written")]
    Stopped(String),
    /// How many were skipped.
    #[error("{0} invalid row{s} skipped", s = if *.0 == 1 { "" } else { "s" })]
    Skipped(usize),
}

/// A chunk turned into output.
struct Minted {
    seq: usize,
    bytes: Vec<u8>,
    tokens: usize,
    /// Invalid rows: their number and why (with --skip-invalid; else the first stops the run).
    invalid: Vec<(u64, String)>,
}

/// What a worker needs to turn rows into output.
struct Mint {
    template: AccessToken,
    key: KeyPair,
    now: i64,
    columns: Vec<Column>,
    format: Format,
    link: Option<JoinLink>,
    skip_invalid: bool,
    /// "row" for CSV, "line" for JSON Lines.
    unit: &'static str,
}

/// Runs `roomkey token batch`.
pub(crate) fn run(args: &BatchArgs) -> Result<()> {
    let template = args.defaults.build()?;
    let link = args
        .link
        .resolve(args.url.clone().or_else(|| env_var("LIVEKIT_URL")))?;
    let key = args.keys.resolve(link.as_ref().map(JoinLink::server_url))?;
    let now = args.now.unwrap_or_else(roomkey_token::unix_now);
    let input = open_input(&args.input)?;
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let input_format = match args
        .input_format
        .or_else(|| Format::from_extension(&args.input))
    {
        Some(f) => f,
        None => {
            let head = input.fill_buf().context("cannot read the input")?;
            let first = head.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'{') {
                Format::Jsonl
            } else {
                Format::Csv
            }
        }
    };
    let output_format = args
        .output_format
        .or_else(|| Format::from_extension(&args.output))
        .unwrap_or(Format::Jsonl);
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);

    // The CSV header is read here: an unknown column is a usage error before any row.
    let columns = match input_format {
        Format::Csv => {
            let mut header = Vec::new();
            input
                .read_until(b'\n', &mut header)
                .context("cannot read the CSV header row")?;
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(header.as_slice());
            let mut names = csv::StringRecord::new();
            if !csv
                .read_record(&mut names)
                .context("cannot read the CSV header row")?
            {
                bail!("the input is empty: a CSV batch starts with a header row (identity,name,…)");
            }
            names
                .iter()
                .map(|name| column(name.trim()))
                .collect::<Result<Vec<Column>, String>>()
                .map_err(|e| anyhow::anyhow!("the CSV header: {e}"))?
        }
        Format::Jsonl => Vec::new(),
    };
    let reader = Reader::new(Box::new(input), input_format == Format::Csv);
    let mint = Arc::new(Mint {
        template,
        key,
        now,
        columns,
        format: output_format,
        link,
        skip_invalid: args.skip_invalid,
        unit: if input_format == Format::Csv {
            "row"
        } else {
            "line"
        },
    });

    let mut sink = Sink::open(&args.output)?;
    if output_format == Format::Csv {
        let header = if mint.link.is_some() {
            "token,identity,room,expires_at,join_url\n"
        } else {
            "token,identity,room,expires_at\n"
        };
        sink.write_all(header.as_bytes())?;
    }
    let progress = (!args.quiet && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} tokens ({per_sec}) {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let outcome = pipeline(reader, &mint, threads, &mut sink, progress.as_ref());
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let (tokens, invalid) = match outcome {
        Ok(counts) => counts,
        Err(e) => {
            sink.abandon();
            return Err(e);
        }
    };
    sink.finish()?;
    if !args.quiet {
        let to = if args.output.as_os_str() == "-" {
            String::new()
        } else {
            format!(" to {}", args.output.display())
        };
        eprintln!(
            "roomkey: minted {tokens} token{}{to}",
            if tokens == 1 { "" } else { "s" }
        );
    }
    if invalid > 0 {
        return Err(InvalidRows::Skipped(invalid).into());
    }
    Ok(())
}

/// Reads, mints on `threads` workers, and writes in input order. Returns the tokens written
/// and the rows skipped.
fn pipeline(
    mut reader: Reader,
    mint: &Arc<Mint>,
    threads: usize,
    sink: &mut Sink,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(usize, usize)> {
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(threads * QUEUED_PER_WORKER);
    let (done_tx, done_rx) = sync_channel::<Minted>(threads * QUEUED_PER_WORKER);
    let chunk_rx = Arc::new(Mutex::new(chunk_rx));
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_all(&mut reader, &chunk_tx));
        for _ in 0..threads {
            let (rx, tx, mint) = (Arc::clone(&chunk_rx), done_tx.clone(), Arc::clone(mint));
            scope.spawn(move || work(&rx, &tx, &mint));
        }
        drop(done_tx);
        let written = write_in_order(&done_rx, mint, sink, progress);
        // Stop the others early on a failure: with the receivers gone, they finish quickly.
        drop(done_rx);
        drop(chunk_rx);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the reader failed")));
        let written = written?;
        read?;
        Ok(written)
    })
}

fn read_all(reader: &mut Reader, chunks: &SyncSender<Chunk>) -> Result<()> {
    let mut seq = 0;
    while let Some(chunk) = reader.next_chunk(seq)? {
        if chunks.send(chunk).is_err() {
            return Ok(()); // the writer stopped; it reports why
        }
        seq += 1;
    }
    Ok(())
}

fn work(chunks: &Mutex<Receiver<Chunk>>, done: &SyncSender<Minted>, mint: &Mint) {
    let mut scratch = mint.template.clone();
    loop {
        let next = chunks.lock().map(|rx| rx.recv());
        let Ok(Ok(chunk)) = next else {
            return;
        };
        if done.send(mint.chunk(chunk, &mut scratch)).is_err() {
            return;
        }
    }
}

impl Mint {
    fn chunk(&self, chunk: Chunk, scratch: &mut AccessToken) -> Minted {
        // A typical CSV row of 20-odd bytes becomes a line of about 400: 16 times the input
        // (12 made each chunk regrow its buffer, 4 % of a batch's CPU under perf).
        let capacity = chunk.bytes.len() * 16;
        let mut out = match self.format {
            Format::Jsonl => Emit::Json(Vec::with_capacity(capacity)),
            Format::Csv => Emit::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::with_capacity(capacity)),
            )),
        };
        let (mut tokens, mut invalid) = (0, Vec::new());
        let mut outcome = |number: u64, minted: Result<(), String>| {
            match minted {
                Ok(()) => tokens += 1,
                Err(why) => invalid.push((number, why)),
            }
            // Without --skip-invalid, the first invalid row ends the chunk (and the batch).
            self.skip_invalid || invalid.is_empty()
        };
        if self.format_in_is_csv() {
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(chunk.bytes.as_slice());
            let mut record = csv::StringRecord::new();
            let mut number = chunk.first;
            loop {
                match csv.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let minted = Row::from_cells(&self.columns, record.iter())
                            .and_then(|row| self.row(row, scratch, &mut out));
                        if !outcome(number, minted) {
                            break;
                        }
                    }
                    Err(e) => {
                        outcome(number, Err(format!("not CSV: {e}")));
                        break;
                    }
                }
                number += 1;
            }
        } else {
            let lines = chunk.bytes.split(|&b| b == b'\n');
            for (number, line) in (chunk.first..).zip(lines) {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let minted = serde_json::from_slice::<serde_json::Value>(line)
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(|value| {
                        let row = Row::from_json(&value)?;
                        self.row(row, scratch, &mut out)
                    });
                if !outcome(number, minted) {
                    break;
                }
            }
        }
        let bytes = match out {
            Emit::Json(bytes) => bytes,
            // Writing into memory cannot fail.
            Emit::Csv(csv) => csv.into_inner().unwrap_or_default(),
        };
        Minted {
            seq: chunk.seq,
            bytes,
            tokens,
            invalid,
        }
    }

    fn format_in_is_csv(&self) -> bool {
        self.unit == "row"
    }

    /// Mints one row and appends its output line; `scratch` is the worker's copy of the
    /// template.
    fn row(&self, row: Row<'_>, scratch: &mut AccessToken, out: &mut Emit) -> Result<(), String> {
        let sign = |t: &AccessToken| t.sign_at(&self.key, self.now).map_err(|e| e.to_string());
        let (row_identity, row_room) = (row.identity(), row.room());
        let (jwt, built);
        let token = if row.is_simple() {
            jwt = row.sign_in_place(scratch, &self.template, sign)?;
            // What was signed, for the output: the row's fields over the template's.
            &self.template
        } else {
            built = row.token(&self.template)?;
            jwt = sign(&built)?;
            &built
        };
        let template = token.claims();
        let identity = row_or(row_identity, &template.sub);
        let room = row_room
            .or_else(|| template.video.as_ref().map(|v| v.room.as_str()))
            .filter(|r| !r.is_empty());
        let link = self
            .link
            .as_ref()
            .map(|l| l.url_for(&jwt, room.unwrap_or(""), identity));
        let expires_at = token.expires_at(self.now);
        match out {
            Emit::Json(bytes) => {
                // By hand rather than serde_json: escaping the token cost 14 % of a batch's
                // CPU (perf, 1 M rows), and a token is base64url and dots, with nothing to
                // escape.
                bytes.extend_from_slice(b"{\"token\":\"");
                bytes.extend_from_slice(jwt.as_bytes());
                bytes.extend_from_slice(b"\",\"identity\":");
                json_string(bytes, identity);
                bytes.extend_from_slice(b",\"room\":");
                match room {
                    Some(room) => json_string(bytes, room),
                    None => bytes.extend_from_slice(b"null"),
                }
                bytes.extend_from_slice(b",\"expires_at\":");
                bytes.extend_from_slice(itoa::Buffer::new().format(expires_at).as_bytes());
                if let Some(link) = &link {
                    bytes.extend_from_slice(b",\"join_url\":");
                    json_string(bytes, link);
                }
                bytes.extend_from_slice(b"}\n");
            }
            Emit::Csv(csv) => {
                let mut expires = itoa::Buffer::new();
                let expires = expires.format(expires_at);
                let room = room.unwrap_or("");
                let result = match &link {
                    Some(link) => csv.write_record([jwt.as_str(), identity, room, expires, link]),
                    None => csv.write_record([jwt.as_str(), identity, room, expires]),
                };
                result.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

/// The row's value of a field, else the template's.
fn row_or<'a>(row: Option<&'a str>, template: &'a str) -> &'a str {
    row.unwrap_or(template)
}

/// Appends `text` as a JSON string; most need no escaping and are copied as they are.
fn json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Serializing a string into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Output being formatted, per chunk.
enum Emit {
    Json(Vec<u8>),
    Csv(Box<csv::Writer<Vec<u8>>>),
}

fn write_in_order(
    done: &Receiver<Minted>,
    mint: &Mint,
    sink: &mut Sink,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(usize, usize)> {
    let mut waiting: BTreeMap<usize, Minted> = BTreeMap::new();
    let (mut next, mut tokens, mut invalid) = (0, 0, 0);
    for minted in done {
        waiting.insert(minted.seq, minted);
        while let Some(minted) = waiting.remove(&next) {
            for (number, why) in &minted.invalid {
                let at = format!("{} {number}", mint.unit);
                if !mint.skip_invalid {
                    return Err(InvalidRows::Stopped(format!("{at}: {}", safe(why))).into());
                }
                if invalid < REPORTED_ROWS {
                    eprintln!("roomkey: skipped {at}: {}", safe(why));
                }
                invalid += 1;
            }
            sink.write_all(&minted.bytes)?;
            tokens += minted.tokens;
            if let Some(bar) = progress {
                bar.set_position(tokens as u64);
            }
            next += 1;
        }
    }
    if invalid > REPORTED_ROWS {
        eprintln!(
            "roomkey: … and {} more invalid rows",
            invalid - REPORTED_ROWS
        );
    }
    Ok((tokens, invalid))
}

/// Where the output goes: standard output, or a temporary file renamed when complete.
enum Sink {
    Stdout(BufWriter<io::Stdout>),
    File {
        file: BufWriter<File>,
        temporary: PathBuf,
        target: PathBuf,
    },
}

impl Sink {
    fn open(path: &Path) -> Result<Sink> {
        if path.as_os_str() == "-" {
            return Ok(Sink::Stdout(BufWriter::with_capacity(
                1 << 20,
                io::stdout(),
            )));
        }
        let name = path
            .file_name()
            .with_context(|| format!("--output {} is not a file name", path.display()))?;
        let temporary = path.with_file_name(format!(
            ".{}.roomkey-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        Ok(Sink::File {
            file: BufWriter::with_capacity(1 << 20, file),
            temporary,
            target: path.to_owned(),
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let result = match self {
            Sink::Stdout(out) => out.write_all(bytes),
            Sink::File { file, .. } => file.write_all(bytes),
        };
        match result {
            // `roomkey token batch | head`: the reader has what it wanted.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other.context("cannot write the output"),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush().context("cannot write the output"),
            Sink::File {
                file,
                temporary,
                target,
            } => {
                let file = file
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .context("cannot write the output")?;
                file.sync_all().context("cannot write the output")?;
                std::fs::rename(&temporary, &target).with_context(|| {
                    format!(
                        "cannot rename {} to {}",
                        temporary.display(),
                        target.display()
                    )
                })
            }
        }
    }

    fn abandon(self) {
        if let Sink::File { temporary, .. } = self {
            let _ = std::fs::remove_file(temporary);
        }
    }
}
