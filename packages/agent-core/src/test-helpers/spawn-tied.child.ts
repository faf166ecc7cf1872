// Starts `sleep` through spawnTied, prints its pid, and waits to be killed (spawn-tied.test.ts).
import { spawnTied } from '../sources/linux/spawn-tied.ts';

const child = spawnTied('sleep', ['600'], { stdio: ['ignore', 'pipe', 'ignore'] });
child.on('spawn', () => process.stdout.write(`${String(child.pid)}\n`));
setInterval(() => undefined, 60_000);
