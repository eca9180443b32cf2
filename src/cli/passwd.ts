// `opencluster passwd NAME ROLE`: reads a password on stdin and prints the users-file line for it
// (NAME ROLE scrypt$N$r$p$SALT$HASH). Bad input: exit 2 with one line.
import type { Command } from 'commander';
import { ROLES, isRole, userLine, userNameProblem } from '../server/users.js';
import { UsageError } from './args.js';
import { printLine } from './output.js';

/** Longest password read from stdin. */
const PASSWORD_BYTES_MAX = 4096;

/** The whole of stdin (bounded), one trailing newline removed. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > PASSWORD_BYTES_MAX) throw new UsageError(`the password on stdin is longer than ${PASSWORD_BYTES_MAX} bytes`);
    chunks.push(chunk);
  }
  return stripOneNewline(Buffer.concat(chunks).toString('utf8'));
}

export function stripOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

export function registerPasswd(program: Command): void {
  program
    .command('passwd')
    .description(`read a password on stdin and print the --users-file line for user NAME with ROLE (${ROLES.join(', ')})`)
    .argument('<name>', 'user name (no white space, 1..64 bytes)')
    .argument('<role>', ROLES.join(', '))
    .action(async (name: string, role: string) => {
      const problem = userNameProblem(name);
      if (problem !== null) throw new UsageError(problem);
      if (!isRole(role)) throw new UsageError(`role must be ${ROLES.join(', ')}, got "${role}"`);
      const password = await readPasswordFromStdin();
      if (password === '') throw new UsageError('the password on stdin is empty');
      printLine(await userLine(name, role, password));
    });
}
