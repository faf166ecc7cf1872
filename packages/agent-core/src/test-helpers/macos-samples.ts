/**
 * Output of macOS tools, in the format they print, for tests of code that can only run on
 * macOS. The names, ids and times are synthetic; ioreg's root is cut to the properties
 * around the ones read (the real one also lists kernel diagnostics, tens of KB).
 */

/** The pupil's login session as `IOConsoleUsers` lists it (uid 501). */
const pupil = (fields: { onConsole: boolean; locked?: boolean }): string =>
  [
    `"kCGSSessionOnConsoleKey"=${fields.onConsole ? 'Yes' : 'No'}`,
    '"kSCSecuritySessionID"=100017',
    '"kCGSessionLoginDoneKey"=Yes',
    '"kCGSSessionSystemSafeBoot"=No',
    '"kCGSSessionGroupIDKey"=20',
    '"kCGSSessionUserIDKey"=501',
    '"kCGSSessionUserNameKey"="pupil1"',
    '"kCGSessionLongUserNameKey"="Pupil One"',
    '"kCGSSessionAuditIDKey"=100017',
    ...(fields.locked
      ? ['"CGSSessionScreenIsLocked"=Yes', '"CGSSessionScreenLockedTime"=1736844300']
      : []),
    '"kCGSSessionIDKey"=257',
    '"kCGSSessionConsoleSetKey"=0',
  ].join(',');

/** Another user's session (uid 502), on the console. */
const other =
  '"kCGSSessionOnConsoleKey"=Yes,"kSCSecuritySessionID"=100042,"kCGSessionLoginDoneKey"=Yes,"kCGSSessionSystemSafeBoot"=No,"kCGSSessionGroupIDKey"=20,"kCGSSessionUserIDKey"=502,"kCGSSessionUserNameKey"="teacher.two","kCGSessionLongUserNameKey"="Teacher {Two}, Science","kCGSSessionAuditIDKey"=100042,"kCGSSessionIDKey"=258,"kCGSSessionConsoleSetKey"=0';

/** `ioreg -w0 -n Root -d1` with the given console lock flag and sessions. */
const root = (consoleLocked: boolean, sessions: readonly string[]): string =>
  [
    '+-o Root  <class IORegistryEntry, id 0x100000100, retain 28>',
    '    {',
    '      "IOKitBuildVersion" = "Darwin Kernel Version 23.4.0: Fri Mar 15 00:10:42 PDT 2024; root:xnu-10063.101.17~1/RELEASE_ARM64_T6000"',
    '      "OS Build Version" = "23E214"',
    `      "IOConsoleLocked" = ${consoleLocked ? 'Yes' : 'No'}`,
    `      "IOConsoleUsers" = (${sessions.map((session) => `{${session}}`).join(',')})`,
    '      "IORegistryPlanes" = {"IOService"="IOService","IOPower"="IOPower","IODeviceTree"="IODeviceTree","IOUSB"="IOUSB","IOAudio"="IOAudio","IOFireWire"="IOFireWire"}',
    '      "IOKitDiagnostics" = {"Container allocation"=1130496,"IOMalloc allocation"=80039040}',
    '    }',
    '    ',
  ].join('\n');

export const IOREG_ROOT = {
  active: root(false, [pupil({ onConsole: true })]),
  locked: root(true, [pupil({ onConsole: true, locked: true })]),
  /** Another user is on the console (fast user switching); the pupil's session runs behind. */
  switchedOut: root(false, [pupil({ onConsole: false }), other]),
  /** The pupil's session is gone; another user is logged in. */
  loggedOut: root(false, [other]),
  /** The login window: nobody is logged in. */
  loginWindow: root(false, []),
} as const;

/** `defaults read com.apple.HIToolbox` on macOS 14 with the British layout selected. */
export const HITOOLBOX_BRITISH = `{
    AppleCurrentKeyboardLayoutInputSourceID = "com.apple.keylayout.British";
    AppleEnabledInputSources =     (
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 2;
            "KeyboardLayout Name" = British;
        },
                {
            "Bundle ID" = "com.apple.CharacterPaletteIM";
            InputSourceKind = "Non Keyboard Input Method";
        }
    );
    AppleFnUsageType = 2;
    AppleInputSourceHistory =     (
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 2;
            "KeyboardLayout Name" = British;
        }
    );
    AppleSelectedInputSources =     (
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 2;
            "KeyboardLayout Name" = British;
        },
                {
            "Bundle ID" = "com.apple.PressAndHold";
            InputSourceKind = "Non Keyboard Input Method";
        }
    );
}
`;

/** An older macOS without `AppleCurrentKeyboardLayoutInputSourceID`, on the U.S. layout. */
export const HITOOLBOX_US_OLD = `{
    AppleEnabledInputSources =     (
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 0;
            "KeyboardLayout Name" = "U.S.";
        }
    );
    AppleSelectedInputSources =     (
                {
            "Bundle ID" = "com.apple.PressAndHold";
            InputSourceKind = "Non Keyboard Input Method";
        },
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 0;
            "KeyboardLayout Name" = "U.S.";
        }
    );
}
`;

/** British – PC, the PC UK layout. */
export const HITOOLBOX_BRITISH_PC = `{
    AppleCurrentKeyboardLayoutInputSourceID = "com.apple.keylayout.British-PC";
    AppleSelectedInputSources =     (
                {
            InputSourceKind = "Keyboard Layout";
            "KeyboardLayout ID" = 250;
            "KeyboardLayout Name" = "British-PC";
        }
    );
}
`;

/** Dvorak: a layout the translator has no table for. */
export const HITOOLBOX_DVORAK = `{
    AppleCurrentKeyboardLayoutInputSourceID = "com.apple.keylayout.Dvorak";
}
`;
