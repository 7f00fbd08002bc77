/**
 * A generated memory workspace for the memory bench: dated notes (`memory/YYYY-MM-DD.md`) and
 * topic notes (`memory/topics/<area>/<name>.md`) of varied, deterministic Markdown, cut by the
 * product's own chunker to count chunks, and a list of varied search queries over the same words.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkMarkdown } from '../src/memory/markdown-chunker.js';

/** Chunks per file, about: 12 chunks of 400 tokens is a ~15 KB note, and 100,000 chunks stay under the 10,000-file limit. */
const CHUNKS_PER_FILE = 12;

const PEOPLE = ['Ada', 'Bruno', 'Chiara', 'Dmitri', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lucia', 'Mateo', 'Nadia', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tomas', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoe'];
const PLACES = ['Lisbon', 'Porto', 'Berlin', 'Kyoto', 'Oslo', 'Valencia', 'Montreal', 'Nairobi', 'Hanoi', 'Lima', 'Tallinn', 'Bologna', 'Cork', 'Ghent', 'Seoul', 'Tbilisi'];
const PROJECTS = ['falcon', 'heron', 'juniper', 'kestrel', 'larch', 'marlin', 'nimbus', 'orchid', 'pelican', 'quartz', 'raven', 'sequoia', 'tundra', 'umber', 'willow', 'zephyr'];
const TOPICS = [
  ['database', 'migration', 'index', 'schema', 'query', 'replica', 'backup', 'vacuum', 'transaction', 'postgres', 'sqlite'],
  ['compiler', 'parser', 'lexer', 'grammar', 'bytecode', 'optimizer', 'inlining', 'register', 'allocation'],
  ['garden', 'tomatoes', 'basil', 'compost', 'seedlings', 'watering', 'mulch', 'pruning', 'greenhouse'],
  ['coffee', 'espresso', 'grinder', 'matcha', 'tea', 'roast', 'brewing', 'kettle', 'oolong'],
  ['running', 'marathon', 'intervals', 'tempo', 'recovery', 'stretching', 'cadence', 'trail', 'shoes'],
  ['budget', 'invoice', 'taxes', 'savings', 'mortgage', 'receipt', 'pension', 'insurance', 'expenses'],
  ['deploy', 'rollback', 'kubernetes', 'latency', 'outage', 'pager', 'alert', 'dashboard', 'canary', 'incident'],
  ['guitar', 'chords', 'scales', 'metronome', 'practice', 'recital', 'fingerpicking', 'strings', 'tuning'],
  ['flight', 'hotel', 'itinerary', 'passport', 'visa', 'luggage', 'train', 'booking', 'museum'],
  ['doctor', 'appointment', 'allergy', 'prescription', 'dentist', 'vaccine', 'checkup', 'sleep', 'vitamins'],
  ['reading', 'novel', 'chapter', 'library', 'essay', 'poetry', 'translation', 'author', 'bookmarks'],
  ['kitchen', 'recipe', 'risotto', 'sourdough', 'fermentation', 'spices', 'lentils', 'dumplings', 'oven'],
];
const VERBS = ['discussed', 'reviewed', 'fixed', 'planned', 'postponed', 'measured', 'rewrote', 'decided on', 'asked about', 'finished', 'started', 'compared', 'documented', 'cancelled', 'tested'];
const FILLER = ['because', 'although', 'after', 'before', 'while', 'so that', 'until', 'since'];
const ADJECTIVES = ['slow', 'flaky', 'quick', 'careful', 'noisy', 'quiet', 'expensive', 'cheap', 'fragile', 'solid', 'late', 'early', 'odd', 'lovely', 'tedious'];
const SECTIONS = ['Morning', 'Work', 'Meetings', 'Errands', 'Evening', 'Ideas', 'Follow-ups', 'Notes'];

const SYLLABLES = ['ka', 'lo', 'mir', 'den', 'tu', 'sa', 'rel', 'vo', 'qui', 'ban', 'tor', 'el', 'fin', 'gra', 'hu', 'jas', 'mon', 'pe', 'ris', 'zu', 'cal', 'dor', 'ne', 'os'];
/** A larger vocabulary (~14,000 made-up words) drawn Zipf-like, as real notes are: a few words everywhere, most words rare. */
const VOCABULARY: string[] = [];
for (const a of SYLLABLES) for (const b of SYLLABLES) {
  VOCABULARY.push(`${a}${b}`);
  for (const c of SYLLABLES) VOCABULARY.push(`${a}${b}${c}`);
}

function zipf(next: () => number): string {
  return VOCABULARY[Math.min(VOCABULARY.length - 1, Math.floor(Math.exp(next() * Math.log(VOCABULARY.length))) - 1)]!;
}

/** A small deterministic generator (mulberry32), so every run indexes the same text. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/** One line of a note: a bullet or a sentence about people, places, projects and a topic. */
function sentence(next: () => number): string {
  const topic = pick(next, TOPICS);
  const word = () => (next() < 0.4 ? pick(next, topic) : zipf(next));
  const words = [word(), word(), word()];
  const person = pick(next, PEOPLE);
  const parts = [
    `${person} ${pick(next, VERBS)} the ${pick(next, ADJECTIVES)} ${words[0]} for ${pick(next, PROJECTS)}`,
    `${pick(next, FILLER)} the ${words[1]} was ${pick(next, ADJECTIVES)}`,
    next() < 0.5 ? `in ${pick(next, PLACES)}` : `with ${pick(next, PEOPLE)}`,
    next() < 0.3 ? `(ticket ${pick(next, PROJECTS).toUpperCase()}-${Math.floor(next() * 5000)})` : `and the ${words[2]} needs another look`,
    next() < 0.5 ? `: ${zipf(next)} ${zipf(next)}` : '',
  ];
  const line = `${parts.join(' ').trimEnd()}.`;
  return next() < 0.6 ? `- ${line}` : line;
}

function note(next: () => number, title: string, targetChars: number): string {
  const lines = [`# ${title}`, ''];
  let size = 0;
  while (size < targetChars) {
    const heading = `## ${pick(next, SECTIONS)}`;
    lines.push(heading, '');
    const count = 3 + Math.floor(next() * 6);
    for (let index = 0; index < count; index++) {
      const line = sentence(next);
      lines.push(line);
      size += line.length + 1;
    }
    lines.push('');
    size += heading.length + 2;
  }
  return `${lines.join('\n')}\n`;
}

export interface GeneratedWorkspace {
  files: number;
  chunks: number;
  bytes: number;
}

/**
 * Writes Markdown memory files into `workspace` until the product's chunker counts `chunks`
 * chunks: dated notes going back from 2026-12-01 for up to three years, then topic notes.
 */
export function generateWorkspace(workspace: string, chunks: number, seed = 1): GeneratedWorkspace {
  const next = random(seed);
  mkdirSync(join(workspace, 'memory', 'topics'), { recursive: true });
  const result: GeneratedWorkspace = { files: 0, chunks: 0, bytes: 0 };
  const day = Date.UTC(2026, 11, 1);
  const perFileChars = CHUNKS_PER_FILE * 1280;
  const longTerm = note(next, 'Long-term memory', 4000);
  writeFileSync(join(workspace, 'MEMORY.md'), longTerm);
  result.files = 1;
  result.chunks = chunkMarkdown(longTerm).length;
  result.bytes = Buffer.byteLength(longTerm);
  while (result.chunks < chunks) {
    const index = result.files - 1;
    let path: string;
    let title: string;
    if (index < 3 * 365) {
      const date = new Date(day - index * 86_400_000).toISOString().slice(0, 10);
      path = join('memory', `${date}.md`);
      title = date;
    } else {
      const area = pick(next, TOPICS)[0]!;
      title = `${pick(next, PROJECTS)} ${area} ${index}`;
      mkdirSync(join(workspace, 'memory', 'topics', area), { recursive: true });
      path = join('memory', 'topics', area, `${title.replace(/\s+/gu, '-')}.md`);
    }
    // The last file only as long as the chunks still missing.
    const missing = chunks - result.chunks;
    const text = note(next, title, Math.min(perFileChars, Math.max(400, missing * 1280)));
    writeFileSync(join(workspace, path), text);
    result.files += 1;
    result.chunks += chunkMarkdown(text).length;
    result.bytes += Buffer.byteLength(text);
  }
  return result;
}

/** `count` varied queries: one to five words (names, places, projects, topic words, tickets), some matching nothing. */
export function generateQueries(count: number, seed = 7): string[] {
  const next = random(seed);
  const queries: string[] = [];
  for (let index = 0; index < count; index++) {
    const topic = pick(next, TOPICS);
    const kind = index % 8;
    if (kind === 0) queries.push(`what did ${pick(next, PEOPLE)} say about the ${pick(next, topic)}`);
    else if (kind === 1) queries.push(`${pick(next, PROJECTS)} ${pick(next, topic)}`);
    else if (kind === 2) queries.push(next() < 0.5 ? pick(next, topic) : `${zipf(next)} ${zipf(next)}`);
    else if (kind === 3) queries.push(`${pick(next, topic)} in ${pick(next, PLACES)} with ${pick(next, PEOPLE)}`);
    else if (kind === 4) queries.push(`${pick(next, PROJECTS).toUpperCase()}-${Math.floor(next() * 5000)}`);
    else if (kind === 5) queries.push(`${pick(next, ADJECTIVES)} ${pick(next, topic)} ${pick(next, topic)} ${pick(next, VERBS)}`);
    else if (kind === 6) queries.push(`when is the next ${pick(next, topic)}?`);
    else queries.push(`quasar nebula ${Math.floor(next() * 1000)}`); // nothing matches
  }
  return queries;
}
