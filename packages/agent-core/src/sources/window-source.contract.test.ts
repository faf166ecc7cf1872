import { describeWindowSourceContract } from '../test-helpers/window-source-contract.ts';
import { X11WindowSource } from './linux/x11-window-source.ts';
import { GetWindowsSource } from './native/get-windows-source.ts';

// One suite, two implementations, one real X server each: the event-driven X11 source the
// Linux agent uses, and the get-windows source Windows and macOS use, which on Linux reads
// the same windows through xprop.
describeWindowSourceContract('X11WindowSource', {
  create: (display) => new X11WindowSource({ display }),
});

describeWindowSourceContract('GetWindowsSource', {
  create: () => new GetWindowsSource({ pollIntervalMs: 50 }),
});
