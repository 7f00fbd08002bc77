import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The starter files of a new workspace. Everything in them is inside `<!-- -->` comments, which
 * never reach the model (see workspace-context.ts), so an untouched starter file changes nothing:
 * the agent behaves as if the file were absent until the user writes something outside a comment.
 */
export const STARTER_FILES: Readonly<Record<'AGENTS.md' | 'SOUL.md' | 'USER.md', string>> = {
  'AGENTS.md': `<!--
AGENTS.md — how this agent works. Hearth puts this file, SOUL.md and USER.md (in that order) into the
agent's instructions at every turn, so keep them short: what you write here costs tokens on
every message. Text inside these comment markers is never sent to the model; write your own
lines outside them (and delete this comment when you like).

Good things to say here:
- what the agent is for ("help me run my small bakery: orders, suppliers, the weekly plan");
- how it should work ("ask before deleting a file", "keep notes in notes/ in the workspace");
- what it must never do ("never send a message to a customer without asking me first").

Example:

You help me plan my week. Keep a running list in todo.md in the workspace and update it when I
tell you something is done.
-->
`,
  'SOUL.md': `<!--
SOUL.md — who this agent is: its voice and temperament. Hearth adds it to the instructions after
AGENTS.md. Text inside these comment markers is never sent to the model.

Example:

You are calm and direct. You answer in a few sentences, say so when you are not sure, and
never pretend to have done something you have not done.
-->
`,
  'USER.md': `<!--
USER.md — about you, so the agent does not have to ask every time: your name, where you are, your time
zone, languages, preferences. Hearth adds it to the instructions after SOUL.md. Text inside
these comment markers is never sent to the model. Do not put passwords or keys here.

Example:

My name is Ada. I live in Lyon (Europe/Paris). Write to me in English; dates as 24 December.
-->
`,
};

/**
 * Creates a workspace that does not exist yet with the commented starter files, and returns true;
 * returns false and writes nothing when the directory already exists (a file the user wrote, or
 * deleted, is never replaced). Throws the `fs` error when the directory cannot be created.
 */
export function createStarterWorkspace(workspaceDir: string): boolean {
  if (existsSync(workspaceDir)) return false;
  mkdirSync(workspaceDir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(STARTER_FILES)) {
    try {
      writeFileSync(join(workspaceDir, name), text, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return true;
}
