/**
 * The typing source tests run X11TypingSource here, in a child process, not in the test
 * worker: loading uiohook ties a process to the X server (libuiohook keeps a display
 * connection open from load to exit, and Xlib ends the process when that server goes
 * away), and without RECORD it aborts the process. Both would take the test worker down.
 *
 * Protocol: argv[2] is the JSON options (`layout`, and `second: true` to also try a second
 * source). Writes JSON lines to stdout: first `{ kind: 'started', state, error, layout }`
 * (and `{ kind: 'second', state, error }`), then `{ kind: 'edit', edit }` per TextEdit.
 * Stops the source and exits when stdin closes, or at once if the source did not start.
 */
import {
  X11TypingSource,
  type X11TypingSourceOptions,
} from '../sources/linux/x11-typing-source.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as X11TypingSourceOptions & {
  second?: boolean;
};
const send = (message: object): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

const source = new X11TypingSource(options);
await source.start((edit) => send({ kind: 'edit', edit }));
send({ kind: 'started', state: source.state, error: source.error, layout: source.layout });
if (options.second) {
  const second = new X11TypingSource(options);
  await second.start(() => {});
  send({ kind: 'second', state: second.state, error: second.error });
  await second.stop();
}

if (source.state !== 'running') process.exit(0);
process.stdin.resume();
process.stdin.on('end', () => {
  void source.stop().then(() => process.exit(0));
});
