import type { Command, Option } from 'commander';
import { cell } from './schema-text.js';

/**
 * The CLI reference in Markdown, read from commander's program: an index of every command, then
 * one section per command with its usage, description, arguments and options, in program order.
 */
export function renderCliReference(program: Command): { text: string; undocumented: string[] } {
  const commands = listCommands(program);
  const undocumented = commands.filter((entry) => entry !== program && !entry.description().trim()).map((entry) => fullName(entry));
  const index = ['| command | what it does |', '|---|---|', ...commands.filter((entry) => entry !== program).map((entry) => `| [\`${fullName(entry)}\`](#${anchor(entry)}) | ${cell(entry.summary() || entry.description())} |`)];
  return { text: [index.join('\n'), ...commands.map(section)].join('\n\n'), undocumented };
}

/** `hearth gateway [token]`, `hearth sessions list|history|reset`, …: one short line per top-level command. */
export function renderCliSummary(program: Command): string {
  const items = program.commands.map((command) => {
    const subcommands = command.commands.map((child) => child.name());
    if (subcommands.length === 0) return `\`${fullName(command)}\``;
    const ownUsage = command.options.length > 0 || command.registeredArguments.length > 0;
    return `\`${fullName(command)} ${ownUsage ? `[${subcommands.join('|')}]` : subcommands.join('|')}\``;
  });
  return `- **CLI**: ${items.join(', ')}. Every command and option is in [docs/cli.md](docs/cli.md); \`hearth <command> --help\` prints the same.`;
}

function listCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(listCommands)];
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** GitHub's heading anchor for the section heading `### hearth cron add`. */
function anchor(command: Command): string {
  return fullName(command).replace(/ /gu, '-');
}

function section(command: Command): string {
  const parts = [`### ${fullName(command)}`, `\`\`\`\n${fullName(command)} ${command.usage()}\n\`\`\``];
  if (command.description()) parts.push(`${cell(capitalise(command.description()))}.`);
  if (command.registeredArguments.length > 0) {
    const rows = command.registeredArguments.map((argument) => {
      const name = `${argument.required ? '<' : '['}${argument.name()}${argument.variadic ? '...' : ''}${argument.required ? '>' : ']'}`;
      return `| \`${name}\` | ${cell(argument.description)} |`;
    });
    parts.push(['| argument | meaning |', '|---|---|', ...rows].join('\n'));
  }
  if (command.options.length > 0) {
    parts.push(['| option | meaning | default |', '|---|---|---|', ...command.options.map(optionRow)].join('\n'));
  }
  return parts.join('\n\n');
}

function optionRow(option: Option): string {
  const fallback = option.mandatory ? 'required' : option.defaultValue !== undefined ? `\`${String(option.defaultValue)}\`` : '—';
  return `| \`${option.flags}\` | ${cell(option.description)} | ${fallback} |`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
