import t from 'tap';
import { chunkSections, countTokens } from '../../src/kb/chunker.js';
import { extractSections, formatOf, markdownSections } from '../../src/kb/extract.js';
import { isKalemError } from '../../src/core/errors.js';
import { HOURS_MD, tinyPdf } from './helpers.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('Markdown: headings open sections, their path heads each chunk, a chunk never crosses a heading', async (t) => {
  const sections = markdownSections(HOURS_MD);
  t.same(
    sections.map((s) => s.headings),
    [['Smile Dental', 'Opening hours'], ['Smile Dental', 'Prices'], ['Smile Dental', 'Parking']],
  );
  const chunks = chunkSections(sections, { maxTokens: 200, overlapTokens: 20 });
  t.equal(chunks.length, 3, 'one chunk per section: they are small, but never merged across headings');
  t.match(chunks[0]!.text, /^Smile Dental > Opening hours\n\nWe are open Monday to Friday/);
  t.notMatch(chunks[0]!.text, /euros/, 'the hours chunk holds no prices');
  t.same(chunks.map((c) => c.seq), [0, 1, 2]);
  for (const c of chunks) t.equal(c.tokens, countTokens(c.text), 'token counts are cl100k_base counts of the chunk text');
});

t.test('a long section is cut at paragraph, then sentence, ends, within the budget, with sentence overlap', async (t) => {
  const sentence = (i: number): string => `Sentence number ${i} explains one more detail about the return policy of the shop.`;
  const paragraphs = [0, 1, 2, 3].map((p) => [0, 1, 2, 3, 4, 5].map((s) => sentence(p * 10 + s)).join(' '));
  const chunks = chunkSections([{ headings: ['Returns'], paragraphs }], { maxTokens: 120, overlapTokens: 30 });
  t.ok(chunks.length >= 4, `${chunks.length} chunks`);
  for (const c of chunks) {
    t.ok(c.tokens <= 120 + 2, `chunk ${c.seq} has ${c.tokens} tokens (budget 120)`);
    t.match(c.text, /^Returns\n\n/, 'every chunk starts with its heading');
    t.match(c.text, /\.$/, 'and ends at a sentence end');
  }
  for (let i = 1; i < chunks.length; i++) {
    const prevLast = chunks[i - 1]!.text.split(/(?<=\.)\s+/).at(-1)!;
    t.ok(chunks[i]!.text.includes(prevLast), `chunk ${i} repeats the last sentence of chunk ${i - 1} (overlap)`);
  }
  const all = chunks.map((c) => c.text).join(' ');
  for (let p = 0; p < 4; p++) for (let s = 0; s < 6; s++) t.ok(all.includes(`number ${p * 10 + s} `), `sentence ${p * 10 + s} is in some chunk`);
});

t.test('a sentence longer than the budget is cut at token boundaries, nothing lost', async (t) => {
  const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  const chunks = chunkSections([{ headings: [], paragraphs: [words] }], { maxTokens: 64, overlapTokens: 0 });
  t.ok(chunks.length > 5);
  for (const c of chunks) t.ok(c.tokens <= 66, `chunk of ${c.tokens} tokens`);
  t.equal(chunks.map((c) => c.text).join(' ').replace(/\s+/g, ' '), words, 'the text comes back whole, in order');
});

t.test('special-token text in a document is plain text', async (t) => {
  const chunks = chunkSections([{ headings: [], paragraphs: ['A line with <|endoftext|> in it.'] }], { maxTokens: 64, overlapTokens: 0 });
  t.equal(chunks.length, 1);
  t.match(chunks[0]!.text, /<\|endoftext\|>/);
});

t.test('formats: by extension; HTML keeps headings and drops links, scripts, images; PDF per page; text at blank lines', async (t) => {
  t.equal(formatOf('a/b/Guide.MD'), 'markdown');
  t.equal(formatOf('x.htm'), 'html');
  t.equal(formatOf('x.pdf'), 'pdf');
  t.equal(formatOf('x.txt'), 'text');
  t.throws(() => formatOf('x.docx'), /x\.docx: unsupported file type; knowledge bases read \.txt/);

  const html = `<html><head><style>p{}</style><script>var secret=1</script></head><body><nav>Home | About</nav>
    <h1>Smile Dental</h1><h2>Opening hours</h2><p>We are <b>open</b> Monday to Friday, <a href="https://x.example/hours">details</a>.</p>
    <img src="a.png" alt="logo"><h2>Prices</h2><p>A check-up costs 45 euros.</p></body></html>`;
  const hs = await extractSections(utf8(html), 'html', 'site.html');
  t.same(hs.map((s) => s.headings), [['Smile Dental', 'Opening hours'], ['Smile Dental', 'Prices']]);
  t.equal(hs[0]!.paragraphs[0], 'We are open Monday to Friday, details.');
  t.notMatch(JSON.stringify(hs), /secret|x\.example|Home \| About|logo/);

  const ps = await extractSections(tinyPdf(['Opening hours', 'We are open Monday to Friday.']), 'pdf', 'flyer.pdf');
  t.equal(ps.length, 1);
  t.same(ps[0]!.headings, ['page 1']);
  t.match(ps[0]!.paragraphs.join(' '), /Opening hours.*We are open Monday to Friday\./);

  const ts = await extractSections(utf8('First para\nstill first.\n\n\nSecond para.\r\n'), 'text', 'notes.txt');
  t.same(ts, [{ headings: [], paragraphs: ['First para still first.', 'Second para.'] }]);

  const bad = await extractSections(utf8('not a pdf'), 'pdf', 'fake.pdf').catch((e: unknown) => e);
  t.ok(isKalemError(bad, 'KALEM_ERR_KB_FORMAT'));
  t.match((bad as Error).message, /fake\.pdf: not a readable PDF/);
  const latin1 = await extractSections(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'text', 'old.txt').catch((e: unknown) => e);
  t.match((latin1 as Error).message, /old\.txt: not UTF-8 text/);
});

import { validateConfig } from '../../src/config/load.js';

t.test('[kb] config: the key travels only over TLS (or to loopback), Qdrant needs its URL, overlap below the budget', async (t) => {
  t.equal(validateConfig({}).kb.backend, 'sqlite-vec');
  t.equal(validateConfig({}).kb.embedding_model, 'text-embedding-3-small');
  t.throws(() => validateConfig({ kb: { embeddings_base_url: 'http://api.example.com/v1' } }), /kb\.embeddings_base_url: expected an https:\/\/ URL/);
  t.doesNotThrow(() => validateConfig({ kb: { embeddings_base_url: 'http://127.0.0.1:8080/v1' } }));
  t.throws(() => validateConfig({ kb: { backend: 'qdrant' } }), /kb\.backend = "qdrant" needs kb\.qdrant_url/);
  t.throws(() => validateConfig({ kb: { backend: 'pinecone' } }), /kb\.backend/);
  t.throws(() => validateConfig({ kb: { chunk_tokens: 100, chunk_overlap_tokens: 100 } }), /smaller than kb\.chunk_tokens/);
});
