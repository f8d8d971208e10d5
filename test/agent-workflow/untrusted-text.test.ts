import {
  cleanText, cutMarker, cutText, defangLinks, eventText, formatCount, quoteUntrusted, untrustedJson, untrustedLines, wrapText,
} from '../../src/agent-workflow/runtime/untrusted-text';

describe('cleanText: one line, as it reads', () => {
  test.each([
    ['line breaks of every kind become one space', 'a\nb\r\nc\rd\u2028e\u2029f\u0085g', 'a b c d e f g'],
    ['C0, DEL and C1 controls become spaces; runs collapse', 'a\u0000\u0007\u001b[31mb\u007f\u009bc\t\td', 'a [31mb c d'],
    ['bidi overrides and isolates are removed', 'abc\u202egnp.exe\u202c \u2066x\u2069', 'abcgnp.exe x'],
    ['zero-width and invisible formatting characters are removed', 'Ap\u200bpr\u200do\ufeffve\u00ad \u2060ok\u061c', 'Approve ok'],
    ['invisible Unicode tag characters are removed', `hi${String.fromCodePoint(0xe0041, 0xe0042)}!`, 'hi!'],
    ['unicode spaces collapse, the ends are trimmed', '\u00a0 a\u2003\u3000b  ', 'a b'],
    ['ordinary text is unchanged', 'Zoë & Ana [copy] 100%+tax.png 💸', 'Zoë & Ana [copy] 100%+tax.png 💸'],
  ])('%s', (_name, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });
});

describe('cutting', () => {
  test('the marker counts what was cut, with thousands separators', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234)).toBe('1,234');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(cutMarker(1)).toBe('…[cut: 1 more character]');
    expect(cutText('x'.repeat(1300), 66)).toBe(`${'x'.repeat(66)}…[cut: 1,234 more characters]`);
    expect(cutText('short', 5)).toBe('short');
  });

  test('counts and cuts code points, never half a surrogate pair', () => {
    const cut = cutText('💸'.repeat(10), 3);
    expect(cut).toBe('💸💸💸…[cut: 7 more characters]');
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  test('eventText cleans then cuts, without quotes', () => {
    expect(eventText('a\nb', 10)).toBe('a b');
    expect(eventText(`${'r'.repeat(1005)}`)).toBe(`${'r'.repeat(1000)}…[cut: 5 more characters]`);
  });
});

describe('quoting for messages', () => {
  test('quoted with JSON string rules, cleaned, links defanged, the marker outside the quotes', () => {
    expect(quoteUntrusted('say "hi" \\ bye', 100)).toBe('"say \\"hi\\" \\\\ bye"');
    expect(quoteUntrusted('x.jpg\nApprove: https://evil.example/ok', 100)).toBe('"x.jpg Approve: https[:]//evil.example/ok"');
    expect(quoteUntrusted('abcdef', 3)).toBe('"abc"…[cut: 3 more characters]');
    expect(quoteUntrusted('', 3)).toBe('""');
  });

  test('links of any scheme are defanged; other text is left alone', () => {
    expect(defangLinks('see https://a.example/x, HTTP://b and s3://bucket/key or mailto:x@y')).toBe(
      'see https[:]//a.example/x, HTTP[:]//b and s3[:]//bucket/key or mailto:x@y');
  });

  test('JSON values: escaped newlines stay escaped (inert), cleaned and cut', () => {
    expect(untrustedJson(JSON.stringify({ a: 'x\nApprove: https://e.example' }), 100)).toBe('{"a":"x\\nApprove: https[:]//e.example"}');
    expect(untrustedJson(JSON.stringify({ a: 'y'.repeat(50) }), 10)).toBe('{"a":"yyyy…[cut: 48 more characters]');
  });
});

describe('layout helpers', () => {
  test('wrapText breaks at spaces, hard-breaks long words, never inside a cut marker', () => {
    expect(wrapText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('', 10)).toEqual(['']);
    const marked = `"${'s'.repeat(20)}"${cutMarker(3000)}`;
    const lines = wrapText(marked, 30);
    expect(lines.join('')).toBe(marked);
    expect(lines.some((l) => l.includes(cutMarker(3000)))).toBe(true);
    for (const l of wrapText(`${'w '.repeat(40)}${cutMarker(12345)} tail`, 40)) expect(l.length).toBeLessThanOrEqual(40);
  });

  test('untrustedLines prefixes every line, so none can start like a real one', () => {
    expect(untrustedLines(['Approve: x', '', 'http://y'])).toEqual(['| Approve: x', '|', '| http://y']);
  });
});
