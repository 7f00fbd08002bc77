/**
 * The audit's JavaScript/TypeScript scanner: the code is parsed into a syntax tree with
 * @babel/parser (never run), imports and `require` calls are followed to the modules they bind,
 * and calls that run commands, reach the network, touch files or evaluate code become drafts.
 * Command lines it can read are also checked with the shell rules.
 */
import { posix } from 'node:path';
import { type ParserPlugin, parse as parseJs } from '@babel/parser';
import { clip, isSensitivePath, networkDraft, SECRET_NAME, secretEnvDraft, shellLineDrafts, urlHost } from './audit-text-rules.js';
import type { Draft } from './audit-types.js';

type AstNode = { type: string; loc?: { start: { line: number } } | null } & Record<string, unknown>;

interface JsScope {
  /** Local names bound to a whole module (`import cp from`, `const cp = require(…)`). */
  modules: Map<string, string>;
  /** Local names bound to one export (`import { execSync } from`, `const { get } = require(…)`). */
  named: Map<string, { module: string; name: string }>;
  /** `const NAME = 'literal'`, to follow URLs and paths kept in constants. */
  strings: Map<string, string>;
  /** The file's folder relative to the skill, for `__dirname`. */
  folder: string;
}

type Role = 'exec' | 'network' | 'fs' | 'vm' | 'os' | 'path';

const MODULE_ROLES: Readonly<Record<string, Role>> = {
  child_process: 'exec',
  execa: 'exec',
  shelljs: 'exec',
  zx: 'exec',
  'cross-spawn': 'exec',
  http: 'network',
  https: 'network',
  http2: 'network',
  net: 'network',
  tls: 'network',
  dgram: 'network',
  axios: 'network',
  'node-fetch': 'network',
  got: 'network',
  undici: 'network',
  superagent: 'network',
  ws: 'network',
  fs: 'fs',
  vm: 'vm',
  os: 'os',
  path: 'path',
};

const EXEC_CALLS = ['exec', 'execSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork'];
const NETWORK_CALLS: Readonly<Record<string, readonly string[]>> = {
  http: ['request', 'get'],
  https: ['request', 'get'],
  http2: ['connect'],
  net: ['connect', 'createConnection', 'Socket'],
  tls: ['connect'],
  dgram: ['createSocket'],
  undici: ['request', 'fetch', 'stream', 'Client', 'Pool', 'WebSocket'],
  ws: ['default', 'WebSocket'],
};
const FS_READS = ['readFile', 'createReadStream', 'readdir', 'opendir', 'stat', 'lstat', 'access', 'exists', 'open', 'readlink', 'realpath', 'watch', 'watchFile', 'readJson', 'readJSON', 'pathExists'];
const FS_WRITES = ['writeFile', 'appendFile', 'createWriteStream', 'mkdir', 'mkdtemp', 'rm', 'rmdir', 'unlink', 'truncate', 'chmod', 'chown', 'utimes', 'outputFile', 'writeJson', 'outputJson', 'remove', 'emptyDir', 'ensureDir', 'ensureFile'];
const FS_COPIES = ['copyFile', 'cp', 'rename', 'symlink', 'link', 'copy', 'move'];
const VM_CALLS = ['runInNewContext', 'runInThisContext', 'runInContext', 'compileFunction', 'Script'];

/**
 * The drafts of one JavaScript/TypeScript text; `file` picks the syntax (TypeScript, JSX) and gives
 * `__dirname`; `startLine` is the line of the text's first line (a markdown code block starts later).
 * Code that cannot be parsed is one 'unreadable' draft.
 */
export function jsDrafts(text: string, file: string, startLine: number): Draft[] {
  const plugins: ParserPlugin[] = /\.[cm]?tsx?$/.test(file) ? (file.endsWith('x') ? ['typescript', 'jsx'] : ['typescript']) : ['jsx'];
  try {
    const ast = parseJs(text, { sourceType: 'unambiguous', errorRecovery: true, attachComment: false, plugins });
    const drafts = programDrafts(ast.program as unknown as AstNode, posix.dirname(file));
    return drafts.map((draft) => ({ ...draft, line: draft.line + startLine - 1 }));
  } catch (error) {
    // a syntax error, or code nested deeper than the stack (parser or walker): say so, keep the text checks
    const where = /\((\d+):\d+\)/.exec(String(error))?.[1];
    const message = `could not be parsed as JavaScript/TypeScript (${String(error).split('\n')[0]}); only the text checks ran`;
    return [{ kind: 'unreadable', level: 'medium', line: where ? Number(where) + startLine - 1 : 0, message }];
  }
}

function programDrafts(program: AstNode, folder: string): Draft[] {
  const nodes = collectNodes(program);
  const scope = scopeOf(nodes, folder);
  const drafts = nodes.flatMap((node) => jsNodeDrafts(node, scope));
  const obfuscated = nodes.filter((node) => node.type === 'Identifier' && /^_0x[0-9a-f]{4,}$/i.test(String(node['name'])));
  if (obfuscated.length >= 5) {
    const message = `${obfuscated.length} identifiers like ${String(obfuscated[0]?.['name'])}: the code went through an obfuscator`;
    drafts.push({ kind: 'obfuscation', level: 'medium', line: lineOf(obfuscated[0]), message });
  }
  const execImport = nodes.find((node) => ['ImportDeclaration', 'CallExpression', 'ImportExpression'].includes(node.type) && roleOf(loadedModule(node, scope)) === 'exec');
  if (execImport && !drafts.some((draft) => draft.kind === 'shell-exec')) {
    const message = `loads ${loadedModule(execImport, scope)}, which runs commands on the host`;
    drafts.push({ kind: 'shell-exec', level: 'high', line: lineOf(execImport), message, needs: 'exec:host' });
  }
  return drafts;
}

// ---------------------------------------------------------------- the tree and its bindings

/** Every AST node, parents before children. */
function collectNodes(root: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) stack.push(value[index]);
    } else if (isNode(value)) {
      out.push(value);
      const keys = Object.keys(value).filter((key) => !['loc', 'start', 'end', 'extra', 'range', 'errors'].includes(key));
      for (const key of keys.reverse()) stack.push(value[key]);
    }
  }
  return out;
}

function scopeOf(nodes: readonly AstNode[], folder: string): JsScope {
  const scope: JsScope = { modules: new Map(), named: new Map(), strings: new Map(), folder };
  for (const node of nodes) {
    if (node.type === 'ImportDeclaration') {
      const module = String(child(node, 'source')?.['value']);
      for (const specifier of children(node, 'specifiers')) {
        const local = String(child(specifier, 'local')?.['name']);
        const imported = child(specifier, 'imported');
        if (specifier.type === 'ImportSpecifier' && imported) scope.named.set(local, { module, name: String(imported['name'] ?? imported['value']) });
        else scope.modules.set(local, module);
      }
    } else if (node.type === 'VariableDeclarator') bindDeclarator(node, scope);
  }
  return scope;
}

function bindDeclarator(node: AstNode, scope: JsScope): void {
  const id = child(node, 'id');
  const init = unwrap(child(node, 'init'));
  if (!id || !init) return;
  const module = loadedModule(init, scope) ?? (init.type === 'Identifier' ? scope.modules.get(String(init['name'])) : undefined);
  const member = init.type === 'MemberExpression' ? memberTarget(init, scope) : undefined;
  if (id.type === 'Identifier') {
    const name = String(id['name']);
    if (module) scope.modules.set(name, module);
    else if (member?.module) scope.named.set(name, { module: member.module, name: member.name });
    else if (init.type === 'StringLiteral' || (init.type === 'TemplateLiteral' && children(init, 'expressions').length === 0)) {
      const value = staticText(init, scope);
      if (value?.complete) scope.strings.set(name, value.text);
    }
  } else if (id.type === 'ObjectPattern' && module) {
    for (const property of children(id, 'properties')) {
      const key = propertyKey(property);
      const value = child(property, 'value');
      const local = value?.type === 'AssignmentPattern' ? child(value, 'left') : value;
      if (key && local?.type === 'Identifier') scope.named.set(String(local['name']), { module, name: key });
    }
  }
}

/** What a callee refers to: a module's export, or a global name. */
interface Target {
  module?: string;
  name: string;
}

function calleeTarget(callee: AstNode | undefined, scope: JsScope): Target | undefined {
  const node = unwrap(callee);
  if (node?.type === 'Identifier') {
    const name = String(node['name']);
    const named = scope.named.get(name);
    if (named) return named;
    const module = scope.modules.get(name) ?? (MODULE_ROLES[name] === 'network' ? name : undefined);
    return module ? { module, name: 'default' } : { name };
  }
  return node?.type === 'MemberExpression' || node?.type === 'OptionalMemberExpression' ? memberTarget(node, scope) : undefined;
}

function memberTarget(node: AstNode, scope: JsScope): Target | undefined {
  const name = propertyKey(node);
  const object = unwrap(child(node, 'object'));
  if (!name || !object) return undefined;
  if (object.type === 'Identifier') {
    const local = String(object['name']);
    if (['globalThis', 'window', 'global', 'self'].includes(local)) return { name };
    const module = scope.modules.get(local) ?? scope.named.get(local)?.module ?? (MODULE_ROLES[local] ? local : undefined);
    return module ? { module, name } : undefined;
  }
  const loaded = loadedModule(object, scope);
  if (loaded) return { module: loaded, name };
  const inner = object.type === 'MemberExpression' ? memberTarget(object, scope) : undefined;
  return inner?.module && inner.name === 'promises' ? { module: inner.module, name } : undefined;
}

/** The module a `require(…)`, `import(…)` or import declaration loads. */
function loadedModule(node: AstNode | undefined, scope: JsScope): string | undefined {
  const value = unwrap(node);
  if (value?.type === 'ImportDeclaration') return String(child(value, 'source')?.['value']);
  if (value?.type === 'ImportExpression') return staticText(child(value, 'source'), scope)?.text;
  const callee = child(value, 'callee');
  if (value?.type !== 'CallExpression' || callee?.type !== 'Identifier' || callee['name'] !== 'require') return undefined;
  return staticText(children(value, 'arguments')[0], scope)?.text;
}

function roleOf(module: string | undefined): Role | undefined {
  if (module === undefined) return undefined;
  const bare = module.replace(/^node:/, '').replace(/\/promises$/, '');
  return MODULE_ROLES[['fs-extra', 'graceful-fs'].includes(bare) ? 'fs' : bare];
}

// ---------------------------------------------------------------- uses

function jsNodeDrafts(node: AstNode, scope: JsScope): Draft[] {
  const line = lineOf(node);
  switch (node.type) {
    case 'CallExpression':
    case 'OptionalCallExpression':
    case 'NewExpression':
      return callDrafts(node, scope, line);
    case 'ImportExpression':
      return dynamicLoadDrafts(child(node, 'source'), scope, line);
    case 'TaggedTemplateExpression': {
      const target = calleeTarget(child(node, 'tag'), scope);
      if (roleOf(target?.module) !== 'exec') return [];
      return [{ kind: 'shell-exec', level: 'high', line, message: `runs a command on the host through ${target?.module}`, needs: 'exec:host' }];
    }
    case 'MemberExpression':
    case 'OptionalMemberExpression': {
      const name = isProcessEnv(child(node, 'object')) ? propertyKey(node) : undefined;
      return name && SECRET_NAME.test(name) ? [secretEnvDraft(name, line)] : [];
    }
    case 'VariableDeclarator': {
      const id = child(node, 'id');
      if (id?.type !== 'ObjectPattern' || !isProcessEnv(child(node, 'init'))) return [];
      const names = children(id, 'properties').map(propertyKey);
      return names.filter((name) => name && SECRET_NAME.test(name)).map((name) => secretEnvDraft(String(name), line));
    }
    default:
      return [];
  }
}

function callDrafts(node: AstNode, scope: JsScope, line: number): Draft[] {
  const args = children(node, 'arguments');
  const target = calleeTarget(child(node, 'callee'), scope);
  const drafts: Draft[] = args.filter(isProcessEnv).map(() => ({
    kind: 'secret',
    level: 'medium' as const,
    line,
    message: `hands the whole environment, every credential in it, to ${calleeName(child(node, 'callee'))}()`,
  }));
  if (!target) return drafts;
  const role = roleOf(target.module);
  const bare = target.module?.replace(/^node:/, '');
  const via = bare ? (target.name === 'default' ? bare : `${bare}.${target.name}`) : target.name;
  if (!target.module) drafts.push(...globalCallDrafts(target.name, args, scope, line, node.type === 'NewExpression'));
  else if (role === 'exec' && (EXEC_CALLS.includes(target.name) || !/child_process$/.test(target.module))) drafts.push(...execDrafts(args, scope, line, via));
  else if (role === 'network' && (NETWORK_CALLS[bare ?? '']?.includes(target.name) ?? true)) {
    drafts.push(networkDraft(jsHost(args, scope, target.module), via, line));
  } else if (role === 'vm' && VM_CALLS.includes(target.name)) {
    drafts.push({ kind: 'obfuscation', level: 'high', line, message: `runs code assembled at run time with ${via}()` });
  } else if (role === 'fs') drafts.push(...fsDrafts(target.name.replace(/Sync$/, ''), args, scope, line, via));
  if (target.name === 'require' && !target.module) drafts.push(...dynamicLoadDrafts(args[0], scope, line));
  return drafts;
}

function dynamicLoadDrafts(name: AstNode | undefined, scope: JsScope, line: number): Draft[] {
  if (staticText(name, scope)?.complete) return [];
  return [{ kind: 'obfuscation', level: 'medium', line, message: 'loads a module whose name is computed at run time, hiding what it uses' }];
}

/** `a.b.c` for a callee made of names, `…` for anything else. */
function calleeName(node: AstNode | undefined): string {
  if (node?.type === 'Identifier') return String(node['name']);
  return node?.type === 'MemberExpression' ? `${calleeName(child(node, 'object'))}.${propertyKey(node) ?? '…'}` : '…';
}

function globalCallDrafts(name: string, args: AstNode[], scope: JsScope, line: number, constructed: boolean): Draft[] {
  if (name === 'eval' || name === 'Function') {
    return [{ kind: 'obfuscation', level: 'high', line, message: `runs code assembled at run time with ${constructed ? 'new ' : ''}${name}()` }];
  }
  if (name === 'fetch' || (constructed && ['WebSocket', 'EventSource'].includes(name))) return [networkDraft(jsHost(args, scope), `${constructed ? 'new ' : ''}${name}`, line)];
  return [];
}

function execDrafts(args: AstNode[], scope: JsScope, line: number, via: string): Draft[] {
  const first = staticText(args[0], scope);
  const list = unwrap(args[1])?.type === 'ArrayExpression' ? children(unwrap(args[1]), 'elements').map((element) => staticText(element, scope)) : [];
  const command = first?.complete ? [first.text, ...list.filter((part) => part?.complete).map((part) => part?.text)].join(' ') : undefined;
  const what = command ? `runs \`${clip(command)}\` on the host` : 'runs a command built at run time on the host';
  const draft: Draft = { kind: 'shell-exec', level: 'high', line, message: `${what} (${via})`, needs: 'exec:host', ...(command ? { command } : {}) };
  return [draft, ...(command ? shellLineDrafts(command, line) : [])];
}

/** The host of a request: from a URL string, a `{ host | hostname | url | baseURL }` object, or `net.connect(port, host)`. */
function jsHost(args: AstNode[], scope: JsScope, module?: string): string | undefined {
  const [first, second] = args.map(unwrap);
  if (first?.type === 'NumericLiteral' && /net|tls/.test(module ?? '')) return hostName(staticText(second, scope));
  if (first?.type === 'ObjectExpression') {
    for (const property of children(first, 'properties')) {
      const key = propertyKey(property);
      const value = staticText(child(property, 'value'), scope);
      if (key && ['url', 'baseURL'].includes(key)) return urlHost(value?.text ?? '', value?.complete);
      if (key && ['host', 'hostname'].includes(key)) return hostName(value);
    }
    return undefined;
  }
  const url = first?.type === 'NewExpression' && calleeTarget(child(first, 'callee'), scope)?.name === 'URL' ? children(first, 'arguments')[0] : first;
  const value = staticText(url, scope);
  return value ? urlHost(value.text, value.complete) : undefined;
}

/** A host name that is fully known, lower-cased. */
function hostName(value: StaticText | undefined): string | undefined {
  return value?.complete && /^[A-Za-z0-9.-]+$/.test(value.text) ? value.text.toLowerCase() : undefined;
}

function fsDrafts(name: string, args: AstNode[], scope: JsScope, line: number, via: string): Draft[] {
  if (FS_COPIES.includes(name)) return [pathDraft(args[0], name === 'rename' || name === 'move', scope, line, via), pathDraft(args[1], true, scope, line, via)];
  if (FS_READS.includes(name) || FS_WRITES.includes(name)) return [pathDraft(args[0], FS_WRITES.includes(name), scope, line, via)];
  return [];
}

function pathDraft(arg: AstNode | undefined, write: boolean, scope: JsScope, line: number, via: string): Draft {
  const verb = write ? 'writes' : 'reads';
  const value = staticText(arg, scope);
  const needs = write ? 'file:workspace:rw' : 'file:workspace:ro';
  if (!value?.text) return { kind: 'file-access', level: 'medium', line, message: `${verb} a file whose path is built at run time (${via})`, needs };
  const path = value.text.replace(/\\/g, '/');
  const shown = `${path}${value.complete ? '' : '…'}`;
  const outside = /^(?:~|\/|[A-Za-z]:\/)/.test(path) || /^\.\.(?:\/|$)/.test(posix.normalize(path));
  if (!outside) return { kind: 'file-access', level: 'medium', line, message: `${verb} ${shown} (${via})`, needs };
  const sensitive = isSensitivePath(path);
  const why = sensitive ? ', where credentials and system secrets live' : '';
  return { kind: 'file-outside', level: sensitive ? 'high' : 'medium', line, message: `${verb} ${shown} outside the skill folder${why} (${via}); no capability allows this` };
}

// ---------------------------------------------------------------- values known without running the code

interface StaticText {
  text: string;
  /** False when only a prefix is known (a template or concatenation with a run-time part). */
  complete: boolean;
}

/**
 * The string an expression evaluates to, as far as it is known without running it. The home
 * folder (`os.homedir()`, `process.env.HOME`) reads as `~`; `__dirname` as the file's folder.
 */
function staticText(input: AstNode | undefined, scope: JsScope): StaticText | undefined {
  const node = unwrap(input);
  if (!node) return undefined;
  switch (node.type) {
    case 'StringLiteral':
      return { text: String(node['value']), complete: true };
    case 'TemplateLiteral':
      return templateText(node, scope);
    case 'BinaryExpression':
      return node['operator'] === '+' ? joinParts([staticText(child(node, 'left'), scope), staticText(child(node, 'right'), scope)]) : undefined;
    case 'Identifier': {
      const name = String(node['name']);
      if (name === '__dirname') return { text: scope.folder, complete: true };
      const value = scope.strings.get(name);
      return value === undefined ? undefined : { text: value, complete: true };
    }
    case 'MemberExpression': {
      const key = propertyKey(node);
      if (isProcessEnv(child(node, 'object')) && (key === 'HOME' || key === 'USERPROFILE')) return { text: '~', complete: true };
      const meta = child(node, 'object')?.type === 'MetaProperty';
      return meta && key === 'dirname' ? { text: scope.folder, complete: true } : undefined;
    }
    case 'CallExpression':
      return callText(node, scope);
    default:
      return undefined;
  }
}

function templateText(node: AstNode, scope: JsScope): StaticText | undefined {
  return joinParts(
    children(node, 'quasis').flatMap((quasi, index) => {
      const cooked = { text: String((quasi['value'] as { cooked?: string } | undefined)?.cooked ?? ''), complete: true };
      const expression = children(node, 'expressions')[index];
      return expression ? [cooked, staticText(expression, scope)] : [cooked];
    }),
  );
}

/** `os.homedir()` (or a bare `homedir()`) reads as `~`; `path.join`/`path.resolve` join what is known of their arguments. */
function callText(node: AstNode, scope: JsScope): StaticText | undefined {
  const target = calleeTarget(child(node, 'callee'), scope);
  const role = roleOf(target?.module) ?? (target?.name === 'homedir' ? 'os' : undefined);
  if (role === 'os' && target?.name === 'homedir') return { text: '~', complete: true };
  if (role !== 'path' || !['join', 'resolve'].includes(target?.name ?? '')) return undefined;
  const parts = children(node, 'arguments').map((arg) => staticText(arg, scope));
  const joined = joinParts(parts.flatMap((part, index) => (index === 0 ? [part] : [{ text: '/', complete: true }, part])));
  return joined && { text: posix.normalize(joined.text), complete: joined.complete };
}

/** Concatenates known parts; stops at the first unknown one (the prefix is what is known). */
function joinParts(parts: readonly (StaticText | undefined)[]): StaticText | undefined {
  let text = '';
  for (const [index, part] of parts.entries()) {
    if (!part) return index === 0 ? undefined : { text, complete: false };
    text += part.text;
    if (!part.complete) return { text, complete: false };
  }
  return { text, complete: true };
}

// ---------------------------------------------------------------- syntax-tree helpers

function isProcessEnv(input: AstNode | undefined): boolean {
  const node = unwrap(input);
  const object = child(node, 'object');
  return node?.type === 'MemberExpression' && object?.type === 'Identifier' && object['name'] === 'process' && propertyKey(node) === 'env';
}

function propertyKey(node: AstNode | undefined): string | undefined {
  const key = child(node, node?.type?.endsWith('MemberExpression') ? 'property' : 'key');
  if (key?.type === 'Identifier' && !node?.['computed']) return String(key['name']);
  return key?.type === 'StringLiteral' ? String(key['value']) : undefined;
}

/** Looks through `await`, parentheses and TypeScript casts. */
function unwrap(node: AstNode | undefined): AstNode | undefined {
  const wrappers = ['AwaitExpression', 'ParenthesizedExpression', 'TSAsExpression', 'TSNonNullExpression', 'TSSatisfiesExpression', 'TSTypeAssertion'];
  return node && wrappers.includes(node.type) ? unwrap(child(node, node.type === 'AwaitExpression' ? 'argument' : 'expression')) : node;
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function child(node: AstNode | undefined, key: string): AstNode | undefined {
  const value = node?.[key];
  return isNode(value) ? value : undefined;
}

function children(node: AstNode | undefined, key: string): AstNode[] {
  const value = node?.[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

function lineOf(node: AstNode | undefined): number {
  return node?.loc?.start.line ?? 0;
}
