import { describe, expect, it } from 'vitest';

import { decodeLegacyText, parseHexBytes, parsePropertyLine, parseWindowId } from './xprop.ts';

describe('xprop output', () => {
  it('reads set, empty and missing properties', () => {
    expect(parsePropertyLine('_NET_WM_NAME(UTF8_STRING) = 0x68, 0xc3, 0xa9')).toEqual({
      name: '_NET_WM_NAME',
      present: true,
      type: 'UTF8_STRING',
      value: '0x68, 0xc3, 0xa9',
    });
    expect(parsePropertyLine('WM_NAME(STRING) = ')).toMatchObject({ present: true, value: '' });
    expect(parsePropertyLine('_NET_WM_PID:  not found.')).toEqual({
      name: '_NET_WM_PID',
      present: false,
    });
    expect(parsePropertyLine('_NET_WM_PID:  no such atom on any window.')).toMatchObject({
      present: false,
    });
    expect(parsePropertyLine('X Error of failed request:  BadWindow')).toBeNull();
  });

  it('reads window ids, with 0x0 as none', () => {
    const line = parsePropertyLine('_NET_ACTIVE_WINDOW(WINDOW): window id # 0xA0002a');
    expect(line).toMatchObject({ present: true });
    expect(parseWindowId(line?.present ? line.value : '')).toBe('0xa0002a');
    expect(parseWindowId('window id # 0x0')).toBeNull();
  });

  it('decodes titles as UTF-8 when they are, else as Latin-1', () => {
    expect(decodeLegacyText(parseHexBytes('0x68, 0xc3, 0xa9'))).toBe('hé');
    expect(decodeLegacyText(parseHexBytes('0x68, 0xe9'))).toBe('hé');
  });
});
