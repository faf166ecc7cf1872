/**
 * A stand-in for the Windows clipboard helper (POWERSHELL_CLIPBOARD_SCRIPT), which needs
 * PowerShell and a Windows clipboard: it speaks the same lines, reading "the clipboard" from
 * a JSON file the test writes. Run as `node --import tsx fake-powershell-clipboard.child.ts
 * <state file> <characters kept>`.
 *
 * State: `{ "kind": "text", "text": "…" }`, `{ "kind": "image" }` or `{ "kind": "empty" }`
 * (what Get-Clipboard -Raw gives as text: the text, or nothing), `{ "kind": "busy" }` (the
 * clipboard held open by another program), `{ "kind": "hang" }` (never answers), and
 * `{ "kind": "exit" }` (dies when asked).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [stateFile = '', kept = '10001'] = process.argv.slice(2);
const max = Number(kept);

type State =
  { kind: 'text'; text: string } | { kind: 'image' | 'empty' | 'busy' | 'hang' | 'exit' };

// Output that is no answer (as a profile or module might print): the reader must skip it.
process.stdout.write('stray output before any request\n');

createInterface({ input: process.stdin }).on('line', (request) => {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  let answer: string;
  switch (state.kind) {
    case 'hang':
      return;
    case 'exit':
      process.exit(3);
      break;
    case 'busy':
      answer = 'E ExternalException';
      break;
    case 'text': {
      // .NET's Substring and UTF8Encoding behave as JavaScript's slice and Buffer here,
      // a lone surrogate left by the cut included (it becomes U+FFFD).
      const text = state.text.length > max ? state.text.slice(0, max) : state.text;
      answer = text === '' ? 'N' : `T ${Buffer.from(text, 'utf8').toString('base64')}`;
      break;
    }
    default:
      answer = 'N';
  }
  process.stdout.write(`${request.trim()} ${answer}\n`);
});
