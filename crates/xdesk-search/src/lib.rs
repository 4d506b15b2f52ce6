//! Search for xdesk: one analyzer for Chinese and English (and the mixed text customers
//! write), and full-text indexes derived from the database, which stays the source of truth.

pub mod analyzer;
pub mod articles;
pub mod tickets;

use analyzer::{ANALYZER, analyzer};
use articles::SearchError;
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

/// A text field analysed with [`analyzer::ANALYZER`], stored when snippets need its text.
pub(crate) fn text_field(stored: bool) -> TextOptions {
    let o = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored { o.set_stored() } else { o }
}

/// Decompressed blocks of stored text kept per segment. A search reads the stored text of its
/// page of hits only (for snippets); tantivy's default of 100 blocks of 16 KiB per segment let
/// each node's heap grow with the number of segments and with how widely searches range over
/// old tickets (issue 20's soak).
const DOC_STORE_CACHE_BLOCKS: usize = 8;

/// An index in `dir` (made if new) or in memory, with the analyzer registered, a reader that
/// reloads on commit, and its one writer.
pub(crate) fn open_index(
    dir: Option<&std::path::Path>,
    schema: Schema,
    writer_bytes: usize,
) -> Result<(Index, IndexReader, IndexWriter), SearchError> {
    let index = match dir {
        Some(dir) => {
            let directory = tantivy::directory::MmapDirectory::open(dir)?;
            Index::open_or_create(directory, schema)?
        }
        None => Index::create_in_ram(schema),
    };
    index.tokenizers().register(ANALYZER, analyzer());
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
        .try_into()?;
    // One indexing thread: the index follows the feed beside the request handlers on the
    // same cores, and a second thread doubled the writer's memory for no gain at the rate
    // tickets arrive (measured in docs/BENCHMARKS.md).
    let writer = index.writer_with_num_threads(1, writer_bytes)?;
    Ok((index, reader, writer))
}
