import t from 'tap';
import { commandNamed } from '../../src/cli/program.js';

/** Which command module a command line loads (program.ts loads only that one, or all of them). */
t.test('the command a command line names, past the global options', async (t) => {
  t.equal(commandNamed(['number', 'list', 'acme']), 'number');
  t.equal(commandNamed(['-c', 'kalem.toml', '--json', 'number', 'list']), 'number', 'the value of -c is skipped');
  t.equal(commandNamed(['--config', 'serve', 'account', 'list']), 'account', 'a config file named like a command is not the command');
  t.equal(commandNamed(['--config=x.toml', 'calls', 'list', 'acme']), 'calls');
  t.equal(commandNamed(['-cx.toml', 'kb', 'list']), 'kb');
  t.equal(commandNamed(['token', '--help']), 'token', 'help of one command loads that command');
});

t.test('no command: options only, help, a typo, or a word after --', async (t) => {
  t.equal(commandNamed([]), undefined);
  t.equal(commandNamed(['--help']), undefined);
  t.equal(commandNamed(['-c', 'kalem.toml']), undefined);
  t.equal(commandNamed(['help', 'number']), undefined, '`kalem help number` needs the full list');
  t.equal(commandNamed(['nmber', 'list']), undefined, 'a typo loads every command, for the suggestion');
  t.equal(commandNamed(['--', 'number']), undefined);
});
