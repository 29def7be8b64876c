/**
 * Document → sections of text (heading path + paragraphs), through well-kept libraries:
 * Markdown through marked's lexer, HTML through html-to-text (headings kept as Markdown headings,
 * then the Markdown path), PDF through unpdf (pdf.js), plain text split at blank lines.
 *
 * The chunker never sees a format, only sections: a section is what a heading covers, so a chunk
 * never mixes the end of "Prices" with the start of "Opening hours".
 */
import { basename, extname } from 'node:path';
import { convert, type FormatCallback } from 'html-to-text';
import { Lexer, type Token, type Tokens } from 'marked';
import { extractText as pdfText, getDocumentProxy } from 'unpdf';
import { kalemError } from '../core/errors.js';

export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf';

export interface Section {
  /** Headings from the outermost to this section's own (empty before the first heading). */
  readonly headings: readonly string[];
  readonly paragraphs: readonly string[];
}

const EXTENSIONS: Readonly<Record<string, DocumentFormat>> = {
  '.txt': 'text',
  '.text': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
};

/** The format of a file by its extension; anything else is refused with the list of what is read. */
export function formatOf(fileName: string): DocumentFormat {
  const f = EXTENSIONS[extname(fileName).toLowerCase()];
  if (f === undefined) {
    throw kalemError(
      'KALEM_ERR_KB_FORMAT',
      `${basename(fileName)}: unsupported file type; knowledge bases read ${Object.keys(EXTENSIONS).join(' ')}`,
    );
  }
  return f;
}

export async function extractSections(bytes: Uint8Array, format: DocumentFormat, name: string): Promise<Section[]> {
  switch (format) {
    case 'text':
      return textSections(decodeUtf8(bytes, name));
    case 'markdown':
      return markdownSections(decodeUtf8(bytes, name));
    case 'html':
      return markdownSections(htmlToMarkdownish(decodeUtf8(bytes, name)));
    case 'pdf':
      return pdfSections(bytes, name);
  }
}

function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw kalemError('KALEM_ERR_KB_FORMAT', `${name}: not UTF-8 text`);
  }
}

const clean = (s: string): string => s.replace(/\r\n?/g, '\n').replace(/[ \t]+/g, ' ').trim();

function paragraphsOf(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => clean(p.replace(/\s*\n\s*/g, ' ')))
    .filter((p) => p !== '');
}

export function textSections(text: string): Section[] {
  const paragraphs = paragraphsOf(text);
  return paragraphs.length === 0 ? [] : [{ headings: [], paragraphs }];
}

/** Markdown by marked's block tokens: headings open sections, every other block is a paragraph. */
export function markdownSections(markdown: string): Section[] {
  const sections: Section[] = [];
  let headings: string[] = [];
  let paragraphs: string[] = [];
  const flush = (): void => {
    if (paragraphs.length > 0) sections.push({ headings: [...headings], paragraphs });
    paragraphs = [];
  };
  for (const token of Lexer.lex(markdown) as Token[]) {
    if (token.type === 'heading') {
      flush();
      const h = token as Tokens.Heading;
      headings = [...headings.slice(0, h.depth - 1), clean(h.text)];
      continue;
    }
    const text = blockText(token);
    if (text !== '') paragraphs.push(text);
  }
  flush();
  return sections;
}

function blockText(token: Token): string {
  switch (token.type) {
    case 'space':
    case 'hr':
    case 'def':
      return '';
    case 'paragraph':
    case 'text':
      return clean((token as Tokens.Paragraph).text.replace(/\s*\n\s*/g, ' '));
    case 'code':
      return (token as Tokens.Code).text.trim();
    case 'list':
      // One line per item keeps a list's rows together and readable for the model.
      return (token as Tokens.List).items.map((i) => `- ${clean(i.text.replace(/\s*\n\s*/g, ' '))}`).join('\n');
    case 'table': {
      const t = token as Tokens.Table;
      const row = (cells: Tokens.TableCell[]): string => cells.map((c) => clean(c.text)).join(' | ');
      return [row(t.header), ...t.rows.map(row)].join('\n');
    }
    case 'blockquote':
      return clean((token as Tokens.Blockquote).text.replace(/\s*\n\s*/g, ' '));
    case 'html':
      return clean(convert((token as Tokens.HTML).text, { wordwrap: false }));
    default:
      return 'raw' in token && typeof token.raw === 'string' ? clean(token.raw) : '';
  }
}

/** HTML → text whose headings are Markdown headings (so the Markdown path finds the sections). */
function htmlToMarkdownish(html: string): string {
  const heading =
    (level: number): FormatCallback =>
    (elem, walk, builder) => {
      builder.openBlock({ leadingLineBreaks: 2 });
      builder.addLiteral(`${'#'.repeat(level)} `);
      walk(elem.children, builder);
      builder.closeBlock({ trailingLineBreaks: 2 });
    };
  return convert(html, {
    wordwrap: false,
    formatters: Object.fromEntries([1, 2, 3, 4, 5, 6].map((l) => [`h${l}`, heading(l)])),
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map((l) => ({ selector: `h${l}`, format: `h${l}` })),
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'nav', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
    ],
  });
}

/** PDF: one section per page (the page is the only structure a PDF reliably has). */
async function pdfSections(bytes: Uint8Array, name: string): Promise<Section[]> {
  let pages: string[];
  try {
    // unpdf hands the buffer to pdf.js, which may detach it: give it a copy.
    // verbosity 0: pdf.js would print its warnings on stdout, which is the CLI's output.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    pages = (await pdfText(pdf, { mergePages: false })).text;
  } catch (err) {
    throw kalemError('KALEM_ERR_KB_FORMAT', `${name}: not a readable PDF (${(err as Error).name})`);
  }
  const sections: Section[] = [];
  pages.forEach((page, i) => {
    const paragraphs = paragraphsOf(page);
    if (paragraphs.length > 0) sections.push({ headings: [`page ${i + 1}`], paragraphs });
  });
  return sections;
}
