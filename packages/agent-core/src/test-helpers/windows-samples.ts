/**
 * Output of Windows tools, in the exact format they print (CRLF line ends, fixed-width
 * columns, CSV quoting), for tests of code that can only run on Windows. The names, ids and
 * times are synthetic.
 */

const crlf = (lines: readonly string[]): string => `${lines.join('\r\n')}\r\n`;

/** `quser` header: the columns start at 1 (user name), 23 (session name), 42 (ID), 46 (state). */
const QUSER_HEADER = ' USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME';

export const QUSER = {
  /** The pupil at the console, in session 1, which ran quser (`>`). */
  active: crlf([
    QUSER_HEADER,
    '>pupil1                console             1  Active      none   14/01/2025 08:45',
  ]),
  /** Another user took the console (fast user switching): the pupil's session is disconnected. */
  switchedOut: crlf([
    QUSER_HEADER,
    '>pupil1                                    1  Disc            5  14/01/2025 08:45',
    ' teacher.two           console             2  Active          .  14/01/2025 09:10',
  ]),
  /** A user name with a space, a remote session, and a 12-hour clock. */
  mixed: crlf([
    QUSER_HEADER,
    ' pupil one             rdp-tcp#3           4  Active          .  1/14/2025 8:45 AM',
    '>pupil2                console            12  Active      none   1/14/2025 9:02 AM',
    ' old.account                              13  Disc         1:02  1/13/2025 3:30 PM',
  ]),
  /** German Windows: translated headers and states, the same columns. */
  german: crlf([
    ' BENUTZERNAME          SITZUNGSNAME       ID  STATUS  LEERLAUF   ANMELDEZEIT',
    '>schueler1             console             1  Aktiv         .    14.01.2025 08:45',
  ]),
} as const;

/** `tasklist /FO CSV /NH /FI "PID eq 4312"`: the agent's own process, in session 1. */
export const TASKLIST_OWN = crlf(['"node.exe","4312","Console","1","61,204 K"']);

/** `tasklist /FO CSV /NH /FI "IMAGENAME eq LogonUI.exe" /FI "SESSION eq 1"` while session 1 is locked. */
export const TASKLIST_LOGONUI = crlf(['"LogonUI.exe","9120","Console","1","48,772 K"']);

/** The same when nothing matches: tasklist says so in a line of its own (on stdout, exit code 0). */
export const TASKLIST_NONE = crlf([
  'INFO: No tasks are running which match the specified criteria.',
]);

/** `reg query "HKCU\Keyboard Layout\Preload"`: English (UK) first, then English (US). */
export const REG_PRELOAD_UK = crlf([
  '',
  'HKEY_CURRENT_USER\\Keyboard Layout\\Preload',
  '    1    REG_SZ    00000809',
  '    2    REG_SZ    00000409',
  '',
]);

/** The UK language with the US keyboard: a substitute id in Preload… */
export const REG_PRELOAD_SUBSTITUTED = crlf([
  '',
  'HKEY_CURRENT_USER\\Keyboard Layout\\Preload',
  '    1    REG_SZ    d0010809',
  '',
]);

/** …which `reg query "HKCU\Keyboard Layout\Substitutes"` maps to the US layout. */
export const REG_SUBSTITUTES = crlf([
  '',
  'HKEY_CURRENT_USER\\Keyboard Layout\\Substitutes',
  '    d0010809    REG_SZ    00000409',
  '',
]);

/** `reg query` of a key with no values. */
export const REG_EMPTY_SUBSTITUTES = crlf([
  '',
  'HKEY_CURRENT_USER\\Keyboard Layout\\Substitutes',
  '',
]);
